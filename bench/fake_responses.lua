-- What the seed's agent sends the model: POST /v1/responses, JSON.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer bench"
wrk.body = '{"model":"gpt-5.2","input":[{"role":"developer","content":"You are a helpful assistant"},{"role":"user","content":"Hello, how are you?"}]}'
dofile(os.getenv("BENCH_DIR") .. "/report.lua")
