// A js-libp2p Kademlia node (@libp2p/kad-dht) over QUIC v1 on 127.0.0.1,
// the opponent of tests/interop/kad.sh.
//
//   node kad.mjs
//       Listens on 127.0.0.1 (a free UDP port) as a DHT server, prints
//       PEER_ID and LISTEN, then reads commands from stdin, one a line,
//       answering each with one line:
//         put KEY VALUE   -> PUT OK <n acks> | PUT ERR <message>
//         get KEY         -> GET VALUE <value> | GET NOTFOUND | GET ERR <message>
//         dial MULTIADDR  -> DIAL OK | DIAL ERR <message>
//         peers           -> PEERS <routing table size>
//       Exits 0 at the end of stdin or on SIGINT/SIGTERM.
//
// js-libp2p's DHT validates every record by the namespace of its key
// (/pk/..., /ipns/...): verifyRecord refuses a key with fewer than two '/'
// before consulting any validator, so Kameo's raw actor names cannot be
// stored on a js node. This node accepts any value under the "actorlib"
// namespace (/actorlib/NAME) with a validator that accepts everything and
// a selector that takes the first record.
import './polyfill.mjs' // first: Promise.withResolvers on Node 20
import { createLibp2p } from 'libp2p'
import { quic } from '@chainsafe/libp2p-quic'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { multiaddr } from '@multiformats/multiaddr'
import { createInterface } from 'node:readline'

const enc = new TextEncoder()
const dec = new TextDecoder()

const node = await createLibp2p({
  addresses: { listen: ['/ip4/127.0.0.1/udp/0/quic-v1'] },
  transports: [quic()],
  services: {
    identify: identify(),
    ping: ping(),
    dht: kadDHT({
      protocol: '/ipfs/kad/1.0.0',
      clientMode: false,
      // The default drops private addresses such as 127.0.0.1.
      peerInfoMapper: passthroughMapper,
      validators: { actorlib: async () => {} },
      selectors: { actorlib: () => 0 }
    })
  }
})

console.log('PEER_ID', node.peerId.toString())
for (const ma of node.getMultiaddrs()) console.log('LISTEN', ma.toString())

const timeout = () => AbortSignal.timeout(15000)

async function put (key, value) {
  let acks = 0
  for await (const e of node.services.dht.put(enc.encode(key), enc.encode(value), { signal: timeout() })) {
    if (e.name === 'PEER_RESPONSE' && e.messageName === 'PUT_VALUE') acks++
  }
  return `PUT OK ${acks}`
}

async function get (key) {
  try {
    for await (const e of node.services.dht.get(enc.encode(key), { signal: timeout() })) {
      if (e.name === 'VALUE') return `GET VALUE ${dec.decode(e.value)}`
    }
  } catch (err) {
    if (err.name === 'NotFoundError') return 'GET NOTFOUND'
    throw err
  }
  return 'GET NOTFOUND'
}

async function run (line) {
  const [cmd, ...args] = line.trim().split(/\s+/)
  const name = (cmd ?? '').toUpperCase()
  try {
    switch (cmd) {
      case 'put': return await put(args[0], args.slice(1).join(' '))
      case 'get': return await get(args[0])
      case 'dial':
        await node.dial(multiaddr(args[0]), { signal: timeout() })
        return 'DIAL OK'
      case 'peers': return `PEERS ${node.services.dht.routingTable.size}`
      default: return `ERR unknown command ${cmd}`
    }
  } catch (err) {
    return `${name} ERR ${(err.message ?? String(err)).replace(/\s+/g, ' ')}`
  }
}

const stop = async () => {
  await node.stop()
  process.exit(0)
}
process.on('SIGINT', stop)
process.on('SIGTERM', stop)

// Commands run one at a time, in order.
let chain = Promise.resolve()
const rl = createInterface({ input: process.stdin })
rl.on('line', (line) => {
  if (!line.trim()) return
  chain = chain.then(async () => console.log(await run(line)))
})
rl.on('close', () => { chain.then(stop) })
