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
import './polyfill.mjs' // first: Promise.withResolvers on Node 20
import { createLibp2p } from 'libp2p'
import { quic } from '@chainsafe/libp2p-quic'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { multiaddr } from '@multiformats/multiaddr'

const mode = process.argv[2]

function makeNode (listen) {
  return createLibp2p({
    addresses: { listen: listen ? ['/ip4/127.0.0.1/udp/0/quic-v1'] : [] },
    transports: [quic()],
    services: { identify: identify(), ping: ping() }
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
} else {
  console.error('usage: node peer.mjs serve | dial MULTIADDR [N]')
  process.exit(2)
}
