// An Express demo that sends a few events and, after CLOSE_AFTER_MS
// (default 10000), an `event: close` and ends the response. Its page does
// not close the EventSource on that event, so browsers reconnect every
// time. The server keeps Node's default timeouts (requestTimeout 300 s);
// REQUEST_TIMEOUT_MS sets server.requestTimeout, to show it does not cut
// a response that has started.
//
// PORT (env or argv[2], 0 = any free port), CLOSE_AFTER_MS, INTERVAL_MS
// (default 1000), REQUEST_TIMEOUT_MS.
const express = require('express');

const port = Number(process.env.PORT ?? process.argv[2] ?? 0);
const closeAfter = Number(process.env.CLOSE_AFTER_MS ?? 10000);
const interval = Number(process.env.INTERVAL_MS ?? 1000);

const app = express();
let next = 0;

app.get('/events', (req, res) => {
  res.writeHead(200, {
    'Content-Type': 'text/event-stream',
    'Cache-Control': 'no-cache',
    Connection: 'keep-alive',
  });
  res.flushHeaders();
  const timer = setInterval(() => {
    next++;
    res.write(`data: ${JSON.stringify({ n: next })}\n\n`);
  }, interval);
  const stop = setTimeout(() => {
    clearInterval(timer);
    res.write('event: close\ndata: bye\n\n');
    res.end();
  }, closeAfter);
  req.on('close', () => { clearInterval(timer); clearTimeout(stop); });
});

const server = app.listen(port, '127.0.0.1', () => {
  console.log(`listening ${server.address().port}`);
});
if (process.env.REQUEST_TIMEOUT_MS) server.requestTimeout = Number(process.env.REQUEST_TIMEOUT_MS);
