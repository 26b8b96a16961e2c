// Scenario 2 (broadcast) for k6: CLIENTS subscribers on topic "1"; one publisher VU sends RATE
// events/s through Streamgate's publishEmployee mutation (which publishes to its broker, NATS or
// memory://). Each event id is "<seq>:<Date.now()>"; subscribers record publish→receive latency.
//   k6 run -e WS_URL=ws://127.0.0.1:3002/graphql -e CLIENTS=10000 -e RATE=10 -e DURATION=30 bench/k6/broadcast.js
// Compare `deliveries` with CLIENTS × `published` (k6 has no exact cross-VU join; check by eye).
import http from "k6/http";
import { Counter, Trend } from "k6/metrics";
import ws from "k6/ws";
import { HTTP_URL, PARAMS, PUBLISH, publishTs, subscribeMessage, WS_URL } from "./common.js";

const CLIENTS = Number(__ENV.CLIENTS || 10000);
const RATE = Number(__ENV.RATE || 10);
const DURATION = Number(__ENV.DURATION || 30);
const WARMUP = Number(__ENV.WARMUP || 30); // seconds for every subscriber to connect
const latency = new Trend("publish_to_receive_ms", true);
const deliveries = new Counter("deliveries");
const published = new Counter("published");

export const options = {
  scenarios: {
    subscribers: {
      executor: "per-vu-iterations",
      vus: CLIENTS,
      iterations: 1,
      exec: "subscriber",
      maxDuration: `${WARMUP + DURATION + 60}s`,
    },
    publisher: {
      executor: "constant-arrival-rate",
      rate: RATE,
      timeUnit: "1s",
      duration: `${DURATION}s`,
      startTime: `${WARMUP}s`,
      preAllocatedVUs: 5,
      exec: "publisher",
    },
  },
};

export function subscriber() {
  ws.connect(WS_URL, PARAMS, (socket) => {
    socket.on("open", () => socket.send('{"type":"connection_init"}'));
    socket.on("message", (m) => {
      const ts = publishTs(m);
      if (ts !== null) {
        latency.add(Date.now() - ts);
        deliveries.add(1);
      } else if (m.indexOf('"connection_ack"') >= 0) socket.send(subscribeMessage(1, "1"));
      else if (m.indexOf('"type":"ping"') >= 0) socket.send('{"type":"pong"}');
    });
    socket.setTimeout(() => socket.close(), (WARMUP + DURATION + 10) * 1000);
  });
}

let seq = 0;
export function publisher() {
  seq++;
  const id = `${__VU}${String(seq).padStart(9, "0")}:${Date.now()}`;
  http.post(HTTP_URL, JSON.stringify({ query: PUBLISH, variables: { t: "1", id } }), {
    headers: { "content-type": "application/json" },
  });
  published.add(1);
}
