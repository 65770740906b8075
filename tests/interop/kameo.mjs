// A js-libp2p peer that speaks /kameo/1 by hand: one stream per request,
// one CBOR value each way, read to the end of the stream, the value shaped
// as cbor4ii writes Kameo's serde types (research/kameo.md A4-A5). The
// CBOR here is written independently of actorlib's codec, as a cross-check
// of framing and layout against a libp2p stack that is not ours.
//
//   node kameo.mjs serve
//       Listens on 127.0.0.1, prints PEER_ID, PEER_ID_HEX (the multihash
//       bytes) and LISTEN, then serves
//       /kameo/1: an Ask is answered {"Ask": {"Ok": <its payload>}}, a Tell
//       {"Tell": {"Ok": []}}, anything else is dropped (stream reset); the
//       message ids "garbage" and "wrong-kind" get bytes that are no CBOR
//       value and a Tell answer. Each request is printed as "REQUEST <json>".
//   node kameo.mjs ask MULTIADDR SEQ ACTOR_TYPE MESSAGE_ID PAYLOAD_HEX
//       Dials MULTIADDR, sends one Ask to actor SEQ of that peer and prints
//       "RESPONSE <json>" (or "ERROR <message>", exit 1).
//   node kameo.mjs tell MULTIADDR SEQ ACTOR_TYPE MESSAGE_ID PAYLOAD_HEX
//       The same with a Tell.
import './polyfill.mjs'
import { createLibp2p } from 'libp2p'
import { quic } from '@chainsafe/libp2p-quic'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'

const PROTOCOL = '/kameo/1'

// ------------------------------------------------------------ CBOR out

function head (major, n) {
  if (n < 24) return [major << 5 | n]
  if (n < 0x100) return [major << 5 | 24, n]
  if (n < 0x10000) return [major << 5 | 25, n >> 8, n & 0xff]
  return [major << 5 | 26, (n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]
}

const text = (s) => { const b = Buffer.from(s, 'utf8'); return [...head(3, b.length), ...b] }
const bytes = (b) => [...head(2, b.length), ...b]
// Vec<u8> without serde_bytes: an array of uints.
const vecU8 = (b) => [...head(4, b.length), ...[...b].flatMap((x) => head(0, x))]
const map = (pairs) => [...head(5, pairs.length), ...pairs.flatMap(([k, v]) => [...text(k), ...v])]
const NULL = [0xf6]
const FALSE = [0xf4]

function actorId (seq, peerBytes) {
  const b = Buffer.alloc(8)
  b.writeBigUInt64LE(BigInt(seq))
  return bytes(Buffer.concat([b, Buffer.from(peerBytes)]))
}

function sendRequest (kind, seq, peerBytes, actorType, messageId, payload) {
  const fields = [
    ['actor_id', actorId(seq, peerBytes)],
    ['actor_remote_id', text(actorType)],
    ['message_remote_id', text(messageId)],
    ['payload', vecU8(payload)],
    ['mailbox_timeout', NULL]
  ]
  if (kind === 'Ask') fields.push(['reply_timeout', NULL])
  fields.push(['immediate', FALSE])
  return Uint8Array.from(map([[kind, map(fields)]]))
}

// ------------------------------------------------------------ CBOR in

// Definite lengths only (what cbor4ii writes); bytes become {bytes: hex}.
function decode (buf) {
  let i = 0
  const arg = (ai) => {
    if (ai < 24) return ai
    const n = { 24: 1, 25: 2, 26: 4, 27: 8 }[ai]
    if (!n) throw new Error(`unsupported additional info ${ai}`)
    let v = 0n
    for (let k = 0; k < n; k++) v = v << 8n | BigInt(buf[i++])
    return Number(v)
  }
  const item = () => {
    if (i >= buf.length) throw new Error('truncated')
    const b = buf[i++]
    const major = b >> 5
    const ai = b & 31
    if (major === 7) {
      if (b === 0xf4) return false
      if (b === 0xf5) return true
      if (b === 0xf6) return null
      throw new Error(`simple value ${b}`)
    }
    const n = arg(ai)
    switch (major) {
      case 0: return n
      case 1: return -1 - n
      case 2: { const v = buf.subarray(i, i + n); i += n; return { bytes: Buffer.from(v).toString('hex') } }
      case 3: { const v = buf.subarray(i, i + n); i += n; return Buffer.from(v).toString('utf8') }
      case 4: { const a = []; for (let k = 0; k < n; k++) a.push(item()); return a }
      case 5: { const o = {}; for (let k = 0; k < n; k++) { const key = item(); o[key] = item() } return o }
      default: throw new Error(`major type ${major}`)
    }
  }
  const v = item()
  if (i !== buf.length) throw new Error(`${buf.length - i} bytes after the value`)
  return v
}

// ------------------------------------------------------------ streams

// Everything until the remote closed its write side. Not `for await` over
// the stream: a request that arrives whole with the protocol proposal and
// FIN in one packet (rust-libp2p's V1Lazy, as Kameo and actorlib send it)
// has its remote side closed before the handler runs, and js-libp2p's
// iterator then waits for an end that was already signalled; the buffered
// bytes still come as 'message' events.
function readAll (stream) {
  return new Promise((resolve, reject) => {
    const parts = []
    const finish = (err) => {
      stream.removeEventListener('message', onMessage)
      stream.removeEventListener('remoteCloseWrite', check)
      stream.removeEventListener('close', onClose)
      if (err) reject(err)
      else resolve(Buffer.concat(parts))
    }
    const check = () => {
      if (stream.remoteWriteStatus === 'closed' && stream.readBufferLength === 0) {
        setImmediate(() => stream.readBufferLength === 0 ? finish() : null)
      }
    }
    const onMessage = (evt) => {
      const d = evt.data
      parts.push(Buffer.from(d.subarray ? d.subarray() : d))
      check()
    }
    const onClose = (evt) => finish(evt.error)
    stream.addEventListener('message', onMessage)
    stream.addEventListener('remoteCloseWrite', check)
    stream.addEventListener('close', onClose)
    check()
  })
}

// A Kameo 0.12-0.17 node runs neither identify nor ping (only Kademlia,
// request-response and mDNS), so by default this peer runs none either:
// actorlib must work with a peer that answers `na` to both.
// KAMEO_PEER_SERVICES=identify,ping turns them on.
function makeNode (listen) {
  const wanted = (process.env.KAMEO_PEER_SERVICES ?? '').split(',')
  const services = {}
  if (wanted.includes('identify')) services.identify = identify()
  if (wanted.includes('ping')) services.ping = ping()
  return createLibp2p({
    addresses: { listen: listen ? ['/ip4/127.0.0.1/udp/0/quic-v1'] : [] },
    transports: [quic()],
    services
  })
}

const mode = process.argv[2]

if (mode === 'serve') {
  const node = await makeNode(true)
  await node.handle(PROTOCOL, async (stream) => {
    try {
      const req = decode(await readAll(stream))
      console.log('REQUEST', JSON.stringify(req))
      let resp
      const message = (req.Ask ?? req.Tell ?? {}).message_remote_id
      if (message === 'garbage') resp = [0xff, 0x00]
      else if (message === 'wrong-kind') resp = map([['Tell', map([['Ok', [0x80]]])]])
      else if (req.Ask) resp = map([['Ask', map([['Ok', vecU8(req.Ask.payload)]])]])
      else if (req.Tell) resp = map([['Tell', map([['Ok', [0x80]]])]])
      else throw new Error('not an Ask or a Tell')
      stream.send(Uint8Array.from(resp))
      await stream.close()
    } catch (err) {
      console.log('BAD REQUEST', err.message)
      stream.abort(err)
    }
  })
  console.log('PEER_ID', node.peerId.toString())
  console.log('PEER_ID_HEX', Buffer.from(node.peerId.toMultihash().bytes).toString('hex'))
  for (const ma of node.getMultiaddrs()) console.log('LISTEN', ma.toString())
  const stop = async () => { await node.stop(); process.exit(0) }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
} else if (mode === 'ask' || mode === 'tell') {
  const [addr, seq, actorType, messageId, hex] = process.argv.slice(3)
  const target = multiaddr(addr)
  const peer = peerIdFromString(addr.split('/p2p/')[1])
  const node = await makeNode(false)
  let code = 0
  try {
    const stream = await node.dialProtocol(target, PROTOCOL, { signal: AbortSignal.timeout(10000) })
    stream.send(sendRequest(mode === 'ask' ? 'Ask' : 'Tell', seq, peer.toMultihash().bytes,
      actorType, messageId, Buffer.from(hex, 'hex')))
    await stream.close()
    const resp = decode(await readAll(stream))
    console.log('RESPONSE', JSON.stringify(resp))
  } catch (err) {
    console.log('ERROR', err.message)
    code = 1
  }
  await node.stop()
  process.exit(code)
} else {
  console.error('usage: node kameo.mjs serve | ask|tell MULTIADDR SEQ ACTOR_TYPE MESSAGE_ID PAYLOAD_HEX')
  process.exit(2)
}
