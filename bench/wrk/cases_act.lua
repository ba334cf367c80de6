-- Drive cases through the main line over HTTP (bench_cases.py, transitions).
--   wrk ... -s cases_act.lua URL -- <bearer token> <work dir> <cases in flight>
-- Thread n reads its own case ids from <work dir>/ids-<n>.txt and the steps from
-- <work dir>/steps.txt ("action<TAB>json body" per line). It keeps <cases in flight> cases
-- moving: a case's next step is queued only when the answer to its previous step has come
-- back (the case id is read from the answer), so the steps of one case never overlap, while
-- the cases in flight, each at its own step, give the whole main line's mix at every moment.
-- A case that finishes the line, or whose step failed (non-2xx), makes room for the next.
-- When a thread has run out of cases it sends GET /healthz and counts them as `spare`
-- (bench_cases.py then refuses the run as longer than the cases prepared for it).
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
  ids = {}
  for line in io.lines(args[2] .. "/ids-" .. thread_no .. ".txt") do
    ids[#ids + 1] = line
  end
  paths, bodies = {}, {}
  for line in io.lines(args[2] .. "/steps.txt") do
    local action, body = line:match("^(%S+)\t(.*)$")
    paths[#paths + 1] = "/actions/" .. action
    bodies[#bodies + 1] = body
  end
  step_of = {}         -- case id -> index of the step it waits for or has in flight
  ready = {}           -- FIFO of case ids whose next step may be sent now
  head, tail = 1, 0
  admitted, spare, failed, finished = 0, 0, 0, 0
  for _ = 1, tonumber(args[3]) do
    admit()
  end
end

function admit()
  if admitted < #ids then
    admitted = admitted + 1
    local id = ids[admitted]
    step_of[id] = 1
    tail = tail + 1
    ready[tail] = id
  end
end

function request()
  if head > tail then
    spare = spare + 1
    return wrk.format("GET", "/healthz")
  end
  local id = ready[head]
  ready[head] = nil
  head = head + 1
  local step = step_of[id]
  return wrk.format("POST", "/api/v1/cases/" .. id .. paths[step], headers, bodies[step])
end

function response(status, headers, body)
  -- a case's answer starts with its id; a problem names the case in its `instance` path
  local id = body:match('^{"id":(%d+)') or body:match('/api/v1/cases/(%d+)/actions/')
  if id == nil or step_of[id] == nil then
    return -- a GET /healthz
  end
  if status >= 200 and status < 300 and step_of[id] < #paths then
    step_of[id] = step_of[id] + 1
    tail = tail + 1
    ready[tail] = id
    return
  end
  if status >= 300 then
    failed = failed + 1
  else
    finished = finished + 1
  end
  step_of[id] = nil
  admit()
end

function done(summary, latency, requests)
  local spare_all, failed_all, finished_all = 0, 0, 0
  for _, thread in ipairs(threads) do
    spare_all = spare_all + thread:get("spare")
    failed_all = failed_all + thread:get("failed")
    finished_all = finished_all + thread:get("finished")
  end
  io.write(string.format("spare requests: %d\n", spare_all))
  io.write(string.format("cases failed: %d\n", failed_all))
  io.write(string.format("cases closed: %d\n", finished_all))
end
