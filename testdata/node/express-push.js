// An Express push endpoint written like the tutorials: the headers are
// set but not flushed (they go out with the first write), each connection
// gets its own setInterval and its own counter, so `id:${index}` starts
// again at 1 on every connection, and every event carries `retry: 5000`
// and the custom type `sseEvent`. After END events the data says
// "contDnd", which tells the page to call EventSource.close().
//
// PORT (env or argv[2], 0 = any free port), INTERVAL_MS (default 1500),
// END (default 1000).
const express = require('express');

const port = Number(process.env.PORT ?? process.argv[2] ?? 0);
const interval = Number(process.env.INTERVAL_MS ?? 1500);
const end = Number(process.env.END ?? 1000);

const app = express();

app.get('/events', (req, res) => {
  res.setHeader('Content-Type', 'text/event-stream');
  res.setHeader('Cache-Control', 'no-cache');
  res.setHeader('Connection', 'keep-alive');
  let index = 0;
  const timer = setInterval(() => {
    index++;
    const data = index > end ? 'contDnd' : JSON.stringify({ index, time: new Date().toISOString() });
    res.write(`event:sseEvent\nid:${index}\nretry: 5000\ndata:${data}\n\n`);
  }, interval);
  req.on('close', () => clearInterval(timer));
});

const server = app.listen(port, '127.0.0.1', () => {
  console.log(`listening ${server.address().port}`);
});
