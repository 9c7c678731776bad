//! The accept loop: every connection served with time limits, a cap on
//! how many are open, and one deadline for the whole shutdown.
//!
//! (`axum::serve` has none of these: a client that connects and sends
//! nothing, or stops mid-headers, kept its socket as long as it liked, and
//! shutdown waited for it forever.)

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use super::limits::{Limits, connection_cap};

/// Descriptors kept free for the process's own files (the store, logs,
/// outgoing requests to the model) when the connection cap is lowered to
/// the open-file limit.
const RESERVED_FDS: usize = 128;

/// What a health check past the cap gets: the process is alive, and a
/// load balancer must not take a busy instance for a dead one.
const HEALTHY: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
content-length: 15\r\nconnection: close\r\n\r\n{\"status\":\"ok\"}";

/// How long a connection past the cap is read for its request line.
const REFUSAL_READ: Duration = Duration::from_millis(100);

/// The most connections past the cap being answered at once (each holds
/// its descriptor for up to 1.2 s): past it a connection is closed at once
/// without an answer, so a connect flood cannot spend the descriptors kept
/// for the process ([`RESERVED_FDS`]).
const REFUSING_AT_ONCE: usize = RESERVED_FDS - 32;

/// Refused connections since the last log line about them.
static REFUSED: AtomicU64 = AtomicU64::new(0);

/// What a connection past the cap gets before it is closed.
const REFUSAL: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
content-length: 51\r\nconnection: close\r\nretry-after: 1\r\n\r\n{\"detail\":\"Too many open connections; retry later\"}";

/// Serves `app` on `listener` until `signal` resolves, then stops
/// accepting and lets open requests finish until `deadline` has passed
/// (counted from the signal); the connections still open then are closed.
/// `on_signal` runs once the signal came (new runs are refused from then).
/// Returns the time left of `deadline`.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    limits: &Limits,
    signal: impl Future<Output = ()> + Send,
    on_signal: impl FnOnce(),
    deadline: Duration,
) -> Duration {
    let cap = connection_cap(limits.max_connections, RESERVED_FDS);
    if cap < limits.max_connections {
        tracing::info!(
            max_connections = cap,
            asked = limits.max_connections,
            "connection cap lowered below the open-file limit"
        );
    }
    let open = Arc::new(Semaphore::new(cap));
    let refusing = Arc::new(Semaphore::new(REFUSING_AT_ONCE));
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(limits.header_read_timeout)
        .keep_alive_timeout(limits.header_read_timeout);
    let (stop, stopping) = watch::channel(false);
    let idle_timeout = limits.header_read_timeout;
    let mut connections = JoinSet::new();
    let mut signal = std::pin::pin!(signal);
    loop {
        tokio::select! {
            () = &mut signal => break,
            Some(_) = connections.join_next() => {}
            accepted = listener.accept() => {
                let tcp = match accepted {
                    Ok((tcp, _)) => tcp,
                    Err(error) => {
                        // Out of descriptors or a connection reset before
                        // it was accepted: wait a little, do not spin.
                        tracing::warn!(%error, "accept failed");
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                };
                if let Err(error) = tcp.set_nodelay(true) {
                    // Small writes (SSE frames) go out at once without Nagle.
                    tracing::debug!(%error, "could not set TCP_NODELAY");
                }
                let Ok(permit) = open.clone().try_acquire_owned() else {
                    match refusing.clone().try_acquire_owned() {
                        Ok(refusal) => {
                            connections.spawn(async move {
                                refuse(tcp).await;
                                drop(refusal);
                            });
                        }
                        // Refusing as many as it may: closed at once,
                        // a health check already sent answered without
                        // waiting (a load balancer must not see a busy
                        // instance as dead).
                        Err(_) => {
                            count_refusal();
                            answer_health_now(&tcp);
                            drop(tcp);
                        }
                    }
                    continue;
                };
                let (io, activity) = Watched::new(tcp);
                let connection = builder
                    .serve_connection(TokioIo::new(io), TowerToHyperService::new(app.clone()))
                    .into_owned();
                let stopping = stopping.clone();
                connections.spawn(async move {
                    serve_one(connection, activity, idle_timeout, stopping).await;
                    drop(permit);
                });
            }
        }
    }
    let started = tokio::time::Instant::now();
    drop(listener);
    on_signal();
    tracing::info!(
        open = cap - open.available_permits(),
        "shutting down: no new connections; finishing requests in flight"
    );
    let _ = stop.send(true);
    let all_closed = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(deadline, all_closed).await.is_err() {
        tracing::warn!(
            open = cap - open.available_permits(),
            deadline_ms = deadline.as_millis() as u64,
            "connections still open at the shutdown deadline: closed"
        );
    }
    connections.shutdown().await;
    deadline.saturating_sub(started.elapsed())
}

/// Serves one connection to its end. It is asked to close (hyper's
/// graceful shutdown: the request in progress, if any, is finished first)
/// when the server stops, or when the client has sent nothing for
/// `idle_timeout`: one that connects and sends nothing, or keeps an idle
/// keep-alive connection. (A client that stops mid-headers is closed by
/// hyper's header timeout, one that stops mid-body by the body timeouts.)
async fn serve_one<C>(
    connection: C,
    activity: Activity,
    idle_timeout: Duration,
    mut stopping: watch::Receiver<bool>,
) where
    C: Future<Output = Result<(), Box<dyn std::error::Error + Send + Sync>>> + Closable,
{
    let mut connection = std::pin::pin!(connection);
    let mut check = tokio::time::interval(idle_timeout / 4);
    let mut closing = false;
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(error = %error, "connection ended with an error");
                }
                return;
            }
            _ = stopping.changed(), if !closing => {
                connection.as_mut().close();
                closing = true;
            }
            _ = check.tick(), if !closing => {
                if activity.quiet_for() >= idle_timeout {
                    connection.as_mut().close();
                    closing = true;
                }
            }
        }
    }
}

/// A connection that can be asked to close gracefully.
trait Closable {
    /// Finish the request in progress, then close.
    fn close(self: std::pin::Pin<&mut Self>);
}

impl<I, S, E> Closable for auto::Connection<'static, I, S, E>
where
    S: hyper::service::HttpService<hyper::body::Incoming>,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    S::ResBody: hyper::body::Body + Send + 'static,
    <S::ResBody as hyper::body::Body>::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    E: hyper::rt::bounds::Http2ServerConnExec<S::Future, S::ResBody>,
{
    fn close(self: std::pin::Pin<&mut Self>) {
        self.graceful_shutdown();
    }
}

/// When a connection last received bytes (milliseconds since its start).
#[derive(Clone)]
struct Activity {
    start: tokio::time::Instant,
    last_read_ms: Arc<AtomicU64>,
}

impl Activity {
    fn touch(&self) {
        let now = self.start.elapsed().as_millis() as u64;
        self.last_read_ms.store(now, Ordering::Relaxed);
    }

    fn quiet_for(&self) -> Duration {
        let last = Duration::from_millis(self.last_read_ms.load(Ordering::Relaxed));
        self.start.elapsed().saturating_sub(last)
    }
}

/// A TCP stream that records when it last read bytes.
struct Watched {
    tcp: TcpStream,
    activity: Activity,
}

impl Watched {
    fn new(tcp: TcpStream) -> (Self, Activity) {
        let activity = Activity {
            start: tokio::time::Instant::now(),
            last_read_ms: Arc::new(AtomicU64::new(0)),
        };
        (
            Self {
                tcp,
                activity: activity.clone(),
            },
            activity,
        )
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = std::pin::Pin::new(&mut self.tcp).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.tcp).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.tcp).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}

/// Answers `GET /health` on `tcp` if its request is already there,
/// without waiting for it nor for the answer to be sent.
fn answer_health_now(tcp: &TcpStream) {
    // The whole request head, as far as it has arrived: input left unread
    // would make the close a reset, which can lose the answer.
    let mut head = [0u8; HEAD_BYTES];
    let mut n = 0;
    while n < head.len() {
        match tcp.try_read(&mut head[n..]) {
            Ok(0) | Err(_) => break,
            Ok(m) => n += m,
        }
    }
    if head[..n].starts_with(b"GET /health ") {
        let _ = tcp.try_write(HEALTHY);
    }
}

/// The most of a refused connection's request read before it is answered
/// (a request line and a few headers; a health check's whole head).
const HEAD_BYTES: usize = 2048;

/// Whether `head` holds a whole request head (up to its blank line).
fn head_ends(head: &[u8]) -> bool {
    head.windows(4).any(|w| w == b"\r\n\r\n")
}

/// Counts a connection refused past the cap, logged once per thousand.
fn count_refusal() {
    let refused = REFUSED.fetch_add(1, Ordering::Relaxed);
    if refused.is_multiple_of(1000) {
        tracing::warn!(
            refused_so_far = refused + 1,
            "connection refused: too many open connections (logged once per 1000)"
        );
    }
}

/// Answers a connection past the cap and closes it (at most 1.1 s): 200
/// to `GET /health` (read for at most 100 ms), 503 to anything else.
/// Logged once per thousand refusals, not once each: a flood must not fill
/// the log.
async fn refuse(mut tcp: TcpStream) {
    count_refusal();
    // Read to the end of the request head (bounded in bytes and time), so
    // the close after the answer is a clean one, not a reset.
    let mut head = [0u8; HEAD_BYTES];
    let mut n = 0;
    let _ = tokio::time::timeout(REFUSAL_READ, async {
        use tokio::io::AsyncReadExt;
        while n < head.len() && !head_ends(&head[..n]) {
            match tcp.read(&mut head[n..]).await {
                Ok(0) | Err(_) => break,
                Ok(m) => n += m,
            }
        }
    })
    .await;
    let read = n;
    let answer = if head[..read].starts_with(b"GET /health ") {
        HEALTHY
    } else {
        REFUSAL
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        tcp.write_all(answer).await?;
        tcp.shutdown().await
    })
    .await;
}
