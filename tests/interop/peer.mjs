// A js-libp2p node over QUIC v1 on 127.0.0.1, the opponent of the interop
// tests and benchmarks (tests/interop/run.sh, tests/bench/run.sh).
//
//   node peer.mjs serve
//       Listens on 127.0.0.1 (a free UDP port), prints PEER_ID, LISTEN and
//       PROTOCOLS lines, then one line per connection:open, peer:identify
//       and connection:close, until SIGINT/SIGTERM.
//   node peer.mjs dial MULTIADDR [N]
//       Dials MULTIADDR, pings it N times (default 3) printing each round
//       trip, waits until identify of the peer succeeded, prints it, exits 0
//       (non-zero when anything failed).
//   node peer.mjs bench MULTIADDR [N]
//       Dials MULTIADDR and pings it N times (default 1000), timing each
//       round trip itself; prints p50/p99 in microseconds.
import './polyfill.mjs' // first: Promise.withResolvers on Node 20
import { createLibp2p } from 'libp2p'
import { quic } from '@chainsafe/libp2p-quic'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { multiaddr } from '@multiformats/multiaddr'

const mode = process.argv[2]

// js-libp2p allows one outbound ping stream per peer by default, and a
// ping's stream may not be closed yet when the next ping starts (js-libp2p
// against itself shows it too): the benchmark allows a few.
function makeNode (listen, pingOptions = {}) {
  return createLibp2p({
    addresses: { listen: listen ? ['/ip4/127.0.0.1/udp/0/quic-v1'] : [] },
    transports: [quic()],
    services: { identify: identify(), ping: ping(pingOptions) }
  })
}

function logEvents (node) {
  node.addEventListener('connection:open', (e) => {
    const c = e.detail
    console.log(`connection:open ${c.remotePeer} ${c.remoteAddr} ${c.direction}`)
  })
  node.addEventListener('connection:close', (e) => {
    console.log(`connection:close ${e.detail.remotePeer}`)
  })
  node.addEventListener('peer:identify', (e) => {
    const d = e.detail
    console.log(`peer:identify ${d.peerId} agent=${d.agentVersion} protocols=${JSON.stringify(d.protocols)}`)
  })
}

if (mode === 'serve') {
  const node = await makeNode(true)
  logEvents(node)
  console.log('PEER_ID', node.peerId.toString())
  for (const ma of node.getMultiaddrs()) console.log('LISTEN', ma.toString())
  console.log('PROTOCOLS', JSON.stringify(node.getProtocols()))
  const stop = async () => { await node.stop(); process.exit(0) }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
} else if (mode === 'dial') {
  const target = multiaddr(process.argv[3])
  const targetId = process.argv[3].split('/p2p/')[1]
  const count = Number(process.argv[4] ?? 3)
  const node = await makeNode(false)
  logEvents(node)
  const identified = new Promise((resolve) => {
    node.addEventListener('peer:identify', (e) => {
      if (e.detail.peerId.toString() === targetId) resolve(e.detail)
    })
  })
  let code = 0
  try {
    for (let i = 1; i <= count; i++) {
      const rtt = await node.services.ping.ping(target, { signal: AbortSignal.timeout(10000) })
      console.log(`ping ${i}: rtt ${rtt} ms`)
    }
    const timeout = new Promise((resolve) => setTimeout(() => resolve(null), 10000))
    const id = await Promise.race([identified, timeout])
    if (id) {
      console.log(`IDENTIFY ${id.peerId} agent=${id.agentVersion} protocols=${JSON.stringify(id.protocols)}`)
    } else {
      console.log('IDENTIFY timed out')
      code = 1
    }
  } catch (err) {
    console.log(`ERROR ${err.message}`)
    code = 1
  }
  await node.stop()
  process.exit(code)
} else if (mode === 'bench') {
  const target = multiaddr(process.argv[3])
  const count = Number(process.argv[4] ?? 1000)
  const node = await makeNode(false, { maxOutboundStreams: 4 })
  const rtts = []
  let failed = 0
  await node.dial(target)
  // A stream of its own per ping, as js-libp2p's ping does.
  for (let i = 0; i < count; i++) {
    const t0 = performance.now()
    try {
      await node.services.ping.ping(target, { signal: AbortSignal.timeout(10000) })
      rtts.push((performance.now() - t0) * 1000)
    } catch (err) {
      if (failed++ < 5) console.error(`ping ${i} failed: ${err.name} ${err.message}`)
    }
  }
  rtts.sort((a, b) => a - b)
  const pct = (p) => rtts.length ? Math.round(rtts[Math.min(rtts.length - 1, Math.floor(rtts.length * p))]) : 0
  console.log(`${'ping js-libp2p -> actorlib (sequential)'.padEnd(44)} ${String(rtts.length).padStart(8)} pings   p50 ${String(pct(0.5)).padStart(6)} us   p99 ${String(pct(0.99)).padStart(6)} us   failed ${failed}`)
  await node.stop()
  process.exit(failed ? 1 : 0)
} else {
  console.error('usage: node peer.mjs serve | dial MULTIADDR [N] | bench MULTIADDR [N]')
  process.exit(2)
}
