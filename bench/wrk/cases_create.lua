-- POST /api/v1/cases with a unique source key per request (bench_cases.py, HTTP intake).
--   wrk ... -s cases_create.lua URL -- <api key> <reports file> <key prefix>
-- Each line of the reports file is the rest of a CaseCreate JSON body (category, text,
-- location, address, reporter) without braces; bench_cases.py writes it with json.dumps.
-- Source keys are <prefix>-<thread>-<n>: unique across threads, connections and rounds.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_no", #threads)
end

function init(args)
  headers = {
    ["Authorization"] = "Bearer " .. args[1],
    ["Content-Type"] = "application/json",
  }
  prefix = args[3]
  reports = {}
  for line in io.lines(args[2]) do
    reports[#reports + 1] = line
  end
  sent = 0
end

function request()
  sent = sent + 1
  local report = reports[(sent + thread_no * 7919) % #reports + 1]
  local body = string.format(
    '{"source":"hotline_12345","source_key":"%s-%d-%d",%s}', prefix, thread_no, sent, report
  )
  return wrk.format("POST", "/api/v1/cases", headers, body)
end
