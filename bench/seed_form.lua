-- The seed's curl as wrk sends it: a multipart form with message and stream.
-- STREAM=true in the environment asks for the SSE variant.
local stream = os.getenv("STREAM") or "false"
-- MESSAGE in the environment replaces the seed's (bench/vs_agno.sh TOOLS=1: a tool call).
local message = os.getenv("MESSAGE") or "Hello, how are you?"
local boundary = "----agnoBenchBoundary7MA4YWxkTrZu0gW"
wrk.method = "POST"
wrk.headers["Content-Type"] = "multipart/form-data; boundary=" .. boundary
wrk.body = "--" .. boundary .. "\r\n"
  .. 'Content-Disposition: form-data; name="message"\r\n\r\n'
  .. message .. "\r\n"
  .. "--" .. boundary .. "\r\n"
  .. 'Content-Disposition: form-data; name="stream"\r\n\r\n'
  .. stream .. "\r\n"
  .. "--" .. boundary .. "--\r\n"
dofile(os.getenv("BENCH_DIR") .. "/report.lua")
