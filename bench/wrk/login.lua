-- POST a JSON body (a login): wrk ... -s login.lua URL -- '<json body>'
-- bench_foundation.py builds the body with json.dumps, so no escaping happens here.
function init(args)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.body = args[1]
end
