-- wrk script for scripts/load_test.sh: POST /v1/predict with one text per request, cycling through a few
-- sentences (plain ones and entity-marked ones for relation tasks), and a summary line for the script to parse.
local token = os.getenv("ONESTONE_LOAD_TOKEN")
local texts = {
  "EU rejects German call to boycott British lamb .",
  "The <e1>company</e1> fabricates plastic <e2>chairs</e2> .",
  "a gripping , beautifully acted film that never lets go",
  "Peter Blackburn reported from Brussels on Thursday .",
  "The <e1>burst</e1> was caused by water hammer <e2>pressure</e2> .",
  "the plot is thin and the jokes fall flat",
}
local bodies = {}
for i, t in ipairs(texts) do bodies[i] = '{"text": "' .. t .. '"}' end
local n = 0

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
if token then wrk.headers["Authorization"] = "Bearer " .. token end

request = function()
  n = n + 1
  return wrk.format(nil, nil, nil, bodies[(n % #bodies) + 1])
end

done = function(summary, latency, requests)
  local e = summary.errors
  local errors = e.connect + e.read + e.write + e.status + e.timeout
  io.write(string.format("LOADTEST requests=%d seconds=%.2f rps=%.1f p50_ms=%.2f p99_ms=%.2f errors=%d non2xx=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, errors, e.status))
end
