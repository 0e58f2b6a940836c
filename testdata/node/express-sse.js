// express-sse as its README shows it: one SSE instance, app.get(path,
// sse.init), and sse.send(data) to every open stream. Each connection
// numbers the events it gets itself (id 0, 1, 2, ... from its own
// start), so the same event has a different id on each connection, and
// the library ignores Last-Event-ID. POST /publish sends its body.
//
// PORT (env or argv[2], 0 = any free port), INTERVAL_MS (default 300).
const express = require('express');
const SSE = require('express-sse');

const port = Number(process.env.PORT ?? process.argv[2] ?? 0);
const interval = Number(process.env.INTERVAL_MS ?? 300);

const sse = new SSE();
const app = express();
app.use(express.text({ type: '*/*' }));

app.get('/stream', (req, res, next) => {
  // express-sse calls res.flush(), which the compression middleware adds;
  // without it, a no-op, as its README's examples assume.
  res.flush ??= () => {};
  sse.init(req, res, next);
});
app.post('/publish', (req, res) => {
  sse.send({ text: req.body });
  res.status(202).end();
});

let n = 0;
setInterval(() => sse.send({ n: ++n }), interval);

const server = app.listen(port, '127.0.0.1', () => {
  console.log(`listening ${server.address().port}`);
});
