// @wecom/crypto (Tencent's npm package) side of the interop tests
// (crates/wx/tests/interop.rs). Reads the request JSON (path in argv[2]) and answers JSON
// on stdout; see wechatpy_check.py for the fields. The package exposes getSignature,
// encrypt, decrypt and getJsApiSignature only: envelopes are read here with a small regex
// (XML) or JSON.parse, queries with URLSearchParams, and every signature is compared here.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { decrypt, encrypt, getSignature } from '@wecom/crypto';

const require = createRequire(import.meta.url);
const { version } = require('@wecom/crypto/package.json');

const req = JSON.parse(readFileSync(process.argv[2], 'utf8'));

/** Text of `<name>` in an envelope, CDATA or not. */
function field(xml, name) {
  const m = xml.match(new RegExp(`<${name}>(?:<!\\[CDATA\\[([\\s\\S]*?)\\]\\]>|([^<]*))</${name}>`));
  if (!m) throw new Error(`no <${name}> in envelope`);
  return m[1] ?? m[2];
}

/** Verifies the signature and the receive id, returns the message. */
function open(signature, timestamp, nonce, encrypted, receiveId) {
  const expected = getSignature(req.token, timestamp, nonce, encrypted);
  if (expected !== signature) throw new Error(`signature mismatch: ${signature} != ${expected}`);
  const { message, id } = decrypt(req.aes_key, encrypted);
  if (id !== receiveId) throw new Error(`receive id ${JSON.stringify(id)} != ${JSON.stringify(receiveId)}`);
  return message;
}

function decryptCase(c) {
  const q = new URLSearchParams(c.query);
  const out = { id: c.id };
  out.push = open(q.get('msg_signature'), q.get('timestamp'), q.get('nonce'), field(c.body, 'Encrypt'), c.receive_id);
  out.reply = open(
    field(c.reply, 'MsgSignature'), field(c.reply, 'TimeStamp'), field(c.reply, 'Nonce'),
    field(c.reply, 'Encrypt'), c.receive_id,
  );
  if (c.reply_json) {
    const j = JSON.parse(c.reply_json);
    out.reply_json = open(j.msgsignature, String(j.timestamp), j.nonce, j.encrypt, c.receive_id);
  }
  return out;
}

function encryptCase(c) {
  const encrypted = encrypt(req.aes_key, c.payload, c.receive_id);
  const signature = getSignature(req.token, c.timestamp, c.nonce, encrypted);
  const q = new URLSearchParams({ msg_signature: signature, timestamp: c.timestamp, nonce: c.nonce });
  let toUser = req.accounts.wecom;
  let agent = '<AgentID>1000002</AgentID>';
  if (c.platform === 'oa') {
    q.set('encrypt_type', 'aes');
    q.set('openid', 'oia2TjuEGTNoeX76QEjQNrcURxG8');
    toUser = 'gh_3f5a9c2e8b7d';
    agent = '';
  }
  const body = `<xml><ToUserName><![CDATA[${toUser}]]></ToUserName>`
    + `<Encrypt><![CDATA[${encrypted}]]></Encrypt>${agent}</xml>`;
  return { id: c.id, query: q.toString(), body };
}

function echoDecrypt(c) {
  const q = new URLSearchParams(c.query);
  return {
    id: c.id,
    echostr: open(q.get('msg_signature'), q.get('timestamp'), q.get('nonce'), q.get('echostr'), c.receive_id),
  };
}

function echoEncrypt(c) {
  const echostr = encrypt(req.aes_key, c.echostr, c.receive_id);
  const signature = getSignature(req.token, c.timestamp, c.nonce, echostr);
  const q = new URLSearchParams({ msg_signature: signature, timestamp: c.timestamp, nonce: c.nonce, echostr });
  return { id: c.id, query: q.toString() };
}

function guarded(fn) {
  return (c) => {
    try {
      return fn(c);
    } catch (e) {
      return { id: c.id, error: String(e && e.message ? e.message : e) };
    }
  };
}

process.stdout.write(JSON.stringify({
  implementation: `@wecom/crypto ${version}`,
  decrypted: req.from_qiao.map(guarded(decryptCase)),
  encrypted: req.to_qiao.map(guarded(encryptCase)),
  echo_decrypted: req.echo_from_qiao.map(guarded(echoDecrypt)),
  echo_encrypted: req.echo_to_qiao.map(guarded(echoEncrypt)),
}));
