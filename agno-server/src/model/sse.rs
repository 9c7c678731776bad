//! An incremental decoder of server-sent events (`text/event-stream`).
//!
//! Bytes are pushed as they arrive; complete events are taken out. Lines may
//! end with `\n`, `\r\n` or `\r`, comments (`:`) are skipped, multi-line
//! `data` is joined with `\n`. Each byte is scanned once.

use super::ModelError;

/// One event: its name (`event:` field, empty when absent) and its data.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SseEvent {
    /// The `event:` field, or `""`.
    pub event: String,
    /// The `data:` lines joined with `\n`.
    pub data: String,
}

/// The decoder's state: unread bytes and the event being built.
#[derive(Debug, Default)]
pub(crate) struct SseDecoder {
    buf: Vec<u8>,
    pos: usize,
    event: String,
    data: String,
    has_data: bool,
}

impl SseDecoder {
    /// An empty decoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.pos > 0 && self.pos >= self.buf.len() / 2 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete event, if the bytes so far hold one.
    pub fn next_event(&mut self) -> Result<Option<SseEvent>, ModelError> {
        while let Some(line) = self.next_line(false)? {
            if let Some(event) = self.process_line(&line) {
                return Ok(Some(event));
            }
        }
        Ok(None)
    }

    /// At the end of the stream: the last event even without its closing
    /// blank line (lenient), then `None`.
    pub fn finish(&mut self) -> Result<Option<SseEvent>, ModelError> {
        while let Some(line) = self.next_line(true)? {
            if let Some(event) = self.process_line(&line) {
                return Ok(Some(event));
            }
        }
        Ok(self.dispatch())
    }

    /// Takes one line out of the buffer. At the end of the stream, a last
    /// line without terminator counts too.
    fn next_line(&mut self, eof: bool) -> Result<Option<String>, ModelError> {
        let rest = &self.buf[self.pos..];
        let Some(end) = rest.iter().position(|&b| b == b'\n' || b == b'\r') else {
            if eof && !rest.is_empty() {
                let line = to_str(rest)?;
                self.pos = self.buf.len();
                return Ok(Some(line));
            }
            return Ok(None);
        };
        let consumed = if rest[end] == b'\r' {
            match rest.get(end + 1) {
                Some(b'\n') => end + 2,
                Some(_) => end + 1,
                // A `\r` at the end: wait to see whether `\n` follows.
                None if !eof => return Ok(None),
                None => end + 1,
            }
        } else {
            end + 1
        };
        let line = to_str(&rest[..end])?;
        self.pos += consumed;
        Ok(Some(line))
    }

    /// Applies one line; a blank line ends the event.
    fn process_line(&mut self, line: &str) -> Option<SseEvent> {
        if line.is_empty() {
            return self.dispatch();
        }
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "event" => {
                self.event.clear();
                self.event.push_str(value);
            }
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            _ => {} // id, retry and unknown fields are not used
        }
        None
    }

    fn dispatch(&mut self) -> Option<SseEvent> {
        let had_data = std::mem::take(&mut self.has_data);
        let event = std::mem::take(&mut self.event);
        let data = std::mem::take(&mut self.data);
        had_data.then_some(SseEvent { event, data })
    }
}

fn to_str(bytes: &[u8]) -> Result<String, ModelError> {
    std::str::from_utf8(bytes)
        .map(str::to_owned)
        .map_err(|e| ModelError::InvalidResponse(format!("event stream is not UTF-8: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(dec: &mut SseDecoder) -> Vec<SseEvent> {
        let mut out = Vec::new();
        while let Some(e) = dec.next_event().unwrap() {
            out.push(e);
        }
        out
    }

    fn ev(event: &str, data: &str) -> SseEvent {
        SseEvent {
            event: event.into(),
            data: data.into(),
        }
    }

    #[test]
    fn parses_named_and_unnamed_events() {
        let mut d = SseDecoder::new();
        d.push(b"event: response.output_text.delta\ndata: {\"delta\":\"Hi\"}\n\ndata: [DONE]\n\n");
        assert_eq!(
            all(&mut d),
            vec![
                ev("response.output_text.delta", "{\"delta\":\"Hi\"}"),
                ev("", "[DONE]")
            ]
        );
        assert_eq!(d.finish().unwrap(), None);
    }

    #[test]
    fn handles_split_chunks_and_crlf() {
        let input = b"event: a\r\ndata: one\r\n\r\n: comment\r\ndata:two\rdata: three\r\r";
        // Every split point gives the same events.
        for split in 0..input.len() {
            let mut d = SseDecoder::new();
            d.push(&input[..split]);
            let mut got = all(&mut d);
            d.push(&input[split..]);
            got.extend(all(&mut d));
            if let Some(e) = d.finish().unwrap() {
                got.push(e);
            }
            assert_eq!(
                got,
                vec![ev("a", "one"), ev("", "two\nthree")],
                "split {split}"
            );
        }
    }

    #[test]
    fn byte_by_byte_utf8() {
        let input = "data: héllo ✓\n\n".as_bytes();
        let mut d = SseDecoder::new();
        let mut got = Vec::new();
        for b in input {
            d.push(std::slice::from_ref(b));
            got.extend(all(&mut d));
        }
        assert_eq!(got, vec![ev("", "héllo ✓")]);
    }

    #[test]
    fn last_event_without_blank_line() {
        let mut d = SseDecoder::new();
        d.push(b"data: tail");
        assert_eq!(all(&mut d), vec![]);
        assert_eq!(d.finish().unwrap(), Some(ev("", "tail")));
        assert_eq!(d.finish().unwrap(), None);
    }

    #[test]
    fn events_without_data_are_skipped() {
        let mut d = SseDecoder::new();
        d.push(b"event: ping\n\nid: 3\nretry: 10\n\ndata\n\n");
        assert_eq!(all(&mut d), vec![ev("", "")]);
    }

    #[test]
    fn invalid_utf8_is_an_error() {
        let mut d = SseDecoder::new();
        d.push(b"data: \xff\xfe\n\n");
        assert!(matches!(
            d.next_event(),
            Err(ModelError::InvalidResponse(_))
        ));
    }
}
