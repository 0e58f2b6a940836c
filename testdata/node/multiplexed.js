// One multiplexed stream, as consumed with fetch-event-source: the page
// POSTs to /stream with an Authorization header and a JSON body, and the
// events, all of the default type, are told apart by a `messageType`
// field in their JSON data. Every client sees the same broadcast, with a
// global id, and a reconnect with Last-Event-ID gets what it missed from
// a short history. Without the token the answer is 401.
//
// PORT (env or argv[2], 0 = any free port), TOKEN (default "secret"),
// INTERVAL_MS (default 300).
const express = require('express');

const port = Number(process.env.PORT ?? process.argv[2] ?? 0);
const token = process.env.TOKEN ?? 'secret';
const interval = Number(process.env.INTERVAL_MS ?? 300);

const app = express();
app.use(express.json());
const clients = new Set();
const history = [];
const types = ['chat', 'presence', 'notification'];
let seq = 0;

function frame(m) {
  return `id: ${m.id}\ndata: ${JSON.stringify(m.data)}\n\n`;
}

setInterval(() => {
  seq++;
  const m = { id: seq, data: { messageType: types[seq % types.length], seq, ts: Date.now() } };
  history.push(m);
  if (history.length > 500) history.shift();
  for (const res of clients) res.write(frame(m));
}, interval);

app.post('/stream', (req, res) => {
  if (req.get('Authorization') !== `Bearer ${token}`) {
    res.status(401).json({ error: 'unauthorized' });
    return;
  }
  res.writeHead(200, {
    'Content-Type': 'text/event-stream',
    'Cache-Control': 'no-cache',
    'X-Accel-Buffering': 'no',
  });
  res.flushHeaders();
  res.write(': welcome\n\n');
  const last = Number(req.get('Last-Event-ID'));
  if (last) for (const m of history) if (m.id > last) res.write(frame(m));
  clients.add(res);
  const beat = setInterval(() => res.write(': keep-alive\n\n'), 15000);
  // res, not req: req closes once its body is read.
  res.on('close', () => { clients.delete(res); clearInterval(beat); });
});

const server = app.listen(port, '127.0.0.1', () => {
  console.log(`listening ${server.address().port}`);
});
