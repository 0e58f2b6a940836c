// better-sse as its README shows it: createSession sends the status and
// headers at once, a retry of 2000 ms, and a keep-alive comment every
// 10 s. Session.lastId starts at the client's Last-Event-ID (the
// trustClientEventId default), so a handler that numbers its events from
// it resumes where the client left off; the data carries the time it was
// made on this connection, so the same id has other data on another
// connection.
//
// PORT (env or argv[2], 0 = any free port), INTERVAL_MS (default 300).
const express = require('express');
const { createSession } = require('better-sse');

const port = Number(process.env.PORT ?? process.argv[2] ?? 0);
const interval = Number(process.env.INTERVAL_MS ?? 300);

const app = express();

app.get('/sse', async (req, res) => {
  const session = await createSession(req, res);
  let n = Number(session.lastId) || 0;
  const timer = setInterval(() => {
    n++;
    session.push({ n, ts: Date.now() }, 'message', String(n));
  }, interval);
  session.on('disconnected', () => clearInterval(timer));
});

const server = app.listen(port, '127.0.0.1', () => {
  console.log(`listening ${server.address().port}`);
});
