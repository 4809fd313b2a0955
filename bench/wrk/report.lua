-- The wrk script for reads, and appended to the write mix: one machine-readable line
-- with the run's counts and latency percentiles (microseconds), read by bench.py.
-- `count_non2xx`, when a script defines it, returns the responses outside 2xx and
-- the 4xx other than 412 (wrk's own `errors.status` counts every status >= 400).
function done(summary, latency, requests)
  local non2xx, client = -1, -1
  if count_non2xx then non2xx, client = count_non2xx() end
  io.write(string.format(
    'BENCH_JSON {"requests": %.0f, "duration_us": %.0f, "status_errors": %.0f, ' ..
    '"connect_errors": %.0f, "read_errors": %.0f, "write_errors": %.0f, "timeouts": %.0f, ' ..
    '"p50_us": %.0f, "p99_us": %.0f, "mean_us": %.1f, "non2xx": %.0f, "client_errors": %.0f}\n',
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), latency.mean, non2xx, client))
  if write_ops then
    io.write("BENCH_OPS ", write_ops(), "\n")
  end
  if failure_sample then
    io.write("BENCH_FAILURES ", (string.gsub(failure_sample(), "\n", " | ")), "\n")
  end
end
