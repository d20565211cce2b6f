/* fangxin consumer simulator: plays WeChat's servers for one consumer (development only, no build step).
 *
 * Every message is the XML WeChat would post, signed the way WeChat signs
 * (sha1 of the sorted token, timestamp and nonce) and POSTed to /wechat with
 * no cookies. Passive replies come back in the response; later messages
 * (customer-service / template API) are polled from /simulator/messages.
 */
(() => {
  "use strict";

  const cfg = JSON.parse(document.getElementById("sim-config").textContent);
  const $ = (id) => document.getElementById(id);
  const chat = $("chat");
  const PREFIX = "fangxin.sim.";
  const MAX_HISTORY = 300;
  const TICKET = /TX\d{8}-\d{4,}/g;

  // -- identity: one openid per browser, kept in localStorage ----------------------------------
  function randomOpenid() {
    const bytes = new Uint8Array(20);
    crypto.getRandomValues(bytes);
    const b64 = btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    return ("o" + b64).slice(0, 28); // the shape of a real openid: "o" + 27 characters
  }

  let openid = localStorage.getItem(PREFIX + "openid");
  if (!openid) {
    openid = randomOpenid();
    localStorage.setItem(PREFIX + "openid", openid);
  }
  const key = (name) => `${PREFIX}${name}.${openid}`;

  // -- SHA-1: SubtleCrypto where the page is a secure context, a small fallback elsewhere ------
  function sha1Fallback(bytes) {
    const length = bytes.length;
    const total = Math.ceil((length + 9) / 64) * 64;
    const buf = new Uint8Array(total);
    buf.set(bytes);
    buf[length] = 0x80;
    const view = new DataView(buf.buffer);
    view.setUint32(total - 8, Math.floor((length * 8) / 0x100000000));
    view.setUint32(total - 4, (length * 8) >>> 0);
    const h = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0];
    const w = new Uint32Array(80);
    for (let off = 0; off < total; off += 64) {
      for (let i = 0; i < 16; i++) w[i] = view.getUint32(off + i * 4);
      for (let i = 16; i < 80; i++) {
        const x = w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16];
        w[i] = (x << 1) | (x >>> 31);
      }
      let [a, b, c, d, e] = h;
      for (let i = 0; i < 80; i++) {
        let f, k;
        if (i < 20) { f = (b & c) | (~b & d); k = 0x5a827999; }
        else if (i < 40) { f = b ^ c ^ d; k = 0x6ed9eba1; }
        else if (i < 60) { f = (b & c) | (b & d) | (c & d); k = 0x8f1bbcdc; }
        else { f = b ^ c ^ d; k = 0xca62c1d6; }
        const t = (((a << 5) | (a >>> 27)) + f + e + k + w[i]) >>> 0;
        e = d; d = c; c = ((b << 30) | (b >>> 2)) >>> 0; b = a; a = t;
      }
      h[0] = (h[0] + a) >>> 0; h[1] = (h[1] + b) >>> 0; h[2] = (h[2] + c) >>> 0;
      h[3] = (h[3] + d) >>> 0; h[4] = (h[4] + e) >>> 0;
    }
    return h.map((x) => x.toString(16).padStart(8, "0")).join("");
  }

  async function sha1Hex(text) {
    const bytes = new TextEncoder().encode(text);
    if (window.crypto && crypto.subtle) {
      const digest = new Uint8Array(await crypto.subtle.digest("SHA-1", bytes));
      return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
    }
    return sha1Fallback(bytes);
  }

  /** WeChat's request signature: sha1 over token, timestamp and nonce, sorted and joined. */
  function signature(token, timestamp, nonce) {
    return sha1Hex([token, timestamp, nonce].sort().join(""));
  }

  // -- WeChat XML -------------------------------------------------------------------------------
  function randomDigits(n) {
    const values = new Uint32Array(n);
    crypto.getRandomValues(values);
    return Array.from(values, (v) => String(v % 10)).join("");
  }

  /** A 64-bit MsgId unlikely to repeat anywhere: milliseconds then six random digits. */
  function newMsgId() {
    return String(Date.now()) + randomDigits(6);
  }

  function cdata(value) {
    const clean = String(value).replace(/[\x00-\x08\x0B\x0C\x0E-\x1F]/g, "");
    return "<![CDATA[" + clean.replace(/]]>/g, "]]]]><![CDATA[>") + "]]>";
  }

  function messageXml(msgType, fields, withMsgId = true) {
    let xml = "<xml>" +
      `<ToUserName>${cdata(cfg.account)}</ToUserName>` +
      `<FromUserName>${cdata(openid)}</FromUserName>` +
      `<CreateTime>${Math.floor(Date.now() / 1000)}</CreateTime>` +
      `<MsgType>${cdata(msgType)}</MsgType>`;
    for (const [tag, value] of fields) {
      xml += typeof value === "number" ? `<${tag}>${value}</${tag}>` : `<${tag}>${cdata(value)}</${tag}>`;
    }
    if (withMsgId) xml += `<MsgId>${newMsgId()}</MsgId>`;
    return xml + "</xml>";
  }

  // -- the chat ---------------------------------------------------------------------------------
  function loadHistory() {
    try { return JSON.parse(localStorage.getItem(key("history")) || "[]"); } catch { return []; }
  }
  let history = loadHistory();

  function save() {
    history = history.slice(-MAX_HISTORY);
    localStorage.setItem(key("history"), JSON.stringify(history));
  }

  function appendText(node, text) {
    // ticket numbers link to the console's queue search; everything else is plain text (never HTML)
    let last = 0;
    for (const match of text.matchAll(TICKET)) {
      node.append(text.slice(last, match.index));
      const a = document.createElement("a");
      a.href = `${cfg.ticket_search_url}?q=${encodeURIComponent(match[0])}`;
      a.target = "_blank";
      a.rel = "noopener";
      a.className = "ticket";
      a.textContent = match[0];
      node.append(a);
      last = match.index + match[0].length;
    }
    node.append(text.slice(last));
  }

  const CHANNELS = { custom: "客服消息", template: "模板消息" };

  function render(m, previewUrl) {
    let row;
    if (m.who === "system") {
      row = document.createElement("div");
      row.className = "notice" + (m.level ? " " + m.level : "");
      row.textContent = m.text;
    } else {
      row = document.createElement("div");
      row.className = `msg ${m.who}`;
      row.dataset.channel = m.channel || "";
      row.dataset.kind = m.kind || "text";
      const avatar = document.createElement("span");
      avatar.className = "avatar";
      avatar.textContent = m.who === "bot" ? "放" : "我";
      const bubble = document.createElement("div");
      bubble.className = "bubble";
      if (previewUrl) {
        const img = document.createElement("img");
        img.src = previewUrl;
        img.alt = m.text;
        bubble.append(img);
      } else {
        appendText(bubble, m.text);
      }
      if (CHANNELS[m.channel]) {
        const tag = document.createElement("span");
        tag.className = "channel";
        tag.textContent = CHANNELS[m.channel];
        bubble.prepend(tag);
      }
      row.append(avatar, bubble);
    }
    row.title = new Date(m.at).toLocaleString("zh-CN");
    chat.append(row);
    chat.scrollTop = chat.scrollHeight;
  }

  function add(m, previewUrl) {
    m.at = m.at || Date.now();
    history.push(m);
    save();
    render(m, previewUrl);
  }

  const notice = (text, level) => add({ who: "system", text, level });

  // -- delivery: one message at a time, in order, like a consumer typing ---------------------------
  let chain = Promise.resolve();
  let pending = 0;
  const typing = $("typing");

  function deliver(xml, expectsReply = true) {
    pending += 1;
    typing.hidden = false;
    chain = chain.then(() => post(xml, expectsReply)).finally(() => {
      pending -= 1;
      typing.hidden = pending === 0;
    });
    return chain;
  }

  async function post(xml, expectsReply) {
    try {
      const timestamp = String(Math.floor(Date.now() / 1000));
      const nonce = randomDigits(10);
      const query = new URLSearchParams({
        signature: await signature(cfg.token, timestamp, nonce), timestamp, nonce, openid,
      });
      const response = await fetch(`${cfg.wechat_url}?${query}`, {
        method: "POST", headers: { "Content-Type": "text/xml" }, body: xml, credentials: "omit", cache: "no-store",
      });
      const body = await response.text();
      if (!response.ok) {
        notice(`/wechat 返回 ${response.status}${body ? "：" + body.slice(0, 200) : ""}`, "error");
        return;
      }
      if (body === "" || body === "success") {
        if (expectsReply) notice("未收到被动回复，回复将以客服消息稍后送达", "muted");
        return;
      }
      const doc = new DOMParser().parseFromString(body, "application/xml");
      const field = (tag) => doc.querySelector(tag)?.textContent ?? "";
      const type = field("MsgType");
      add({ who: "bot", channel: "passive", text: type === "text" ? field("Content") : `[${type || "未知消息"}]` });
    } catch (error) {
      notice(`发送失败：${error.message}`, "error");
    }
  }

  // -- what a consumer can do --------------------------------------------------------------------
  function sendText(text) {
    add({ who: "me", text });
    return deliver(messageXml("text", [["Content", text]]));
  }

  function sendVoice(recognition) {
    add({ who: "me", kind: "voice", text: recognition ? `🎤 ${recognition}` : "🎤（语音，未识别出文字）" });
    const fields = [["MediaId", "sim_voice_" + randomDigits(12)], ["Format", "amr"]];
    if (recognition) fields.push(["Recognition", recognition]);
    return deliver(messageXml("voice", fields));
  }

  function sendImage(file) {
    const id = randomDigits(16);
    add({ who: "me", kind: "image", text: `[图片] ${file.name}` }, URL.createObjectURL(file));
    // media cannot reach WeChat from here: a clearly fake PicUrl (.invalid) and MediaId
    return deliver(messageXml("image", [["PicUrl", `http://simulator.invalid/pic/${id}.jpg`],
                                        ["MediaId", `sim_${id}`]]));
  }

  function sendLocation(lat, lon, label) {
    add({ who: "me", kind: "location", text: `📍 ${label || "位置"}\n(${lat}, ${lon})` });
    return deliver(messageXml("location", [["Location_X", lat], ["Location_Y", lon], ["Scale", 15],
                                           ["Label", label || ""]]));
  }

  function sendEvent(event, eventKey, expectsReply = true) {
    const fields = [["Event", event]];
    if (eventKey !== undefined) fields.push(["EventKey", eventKey]);
    return deliver(messageXml("event", fields, false), expectsReply);
  }

  // -- controls --------------------------------------------------------------------------------------
  const text = $("text");
  $("composer").addEventListener("submit", (e) => {
    e.preventDefault();
    const value = text.value.trim();
    if (!value) return;
    text.value = "";
    sendText(value);
  });
  text.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      $("composer").requestSubmit();
    }
  });

  const toggle = (id, show) => { $(id).hidden = show === undefined ? !$(id).hidden : !show; };
  $("more").addEventListener("click", () => { toggle("more-panel"); toggle("location-panel", false); });
  document.querySelectorAll("[data-close]").forEach((b) => b.addEventListener("click", () => toggle(b.dataset.close, false)));
  $("pick-image").addEventListener("click", () => $("image").click());
  $("image").addEventListener("change", (e) => {
    for (const file of e.target.files) sendImage(file);
    e.target.value = "";
    toggle("more-panel", false);
  });
  $("send-voice").addEventListener("click", () => {
    sendVoice(text.value.trim());
    text.value = "";
    toggle("more-panel", false);
  });
  $("open-location").addEventListener("click", () => { toggle("more-panel", false); toggle("location-panel", true); });
  $("send-town").addEventListener("click", () => {
    const town = cfg.towns[Number($("town").value)];
    toggle("location-panel", false);
    sendLocation(town.lat, town.lon, `浙江省嘉兴市桐乡市${town.name}`);
  });
  $("send-coords").addEventListener("click", () => {
    const lat = Number.parseFloat($("lat").value), lon = Number.parseFloat($("lon").value);
    if (!(lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180)) {
      notice("请输入有效的纬度（-90~90）和经度（-180~180）", "error");
      return;
    }
    toggle("location-panel", false);
    sendLocation(lat, lon, $("label").value.trim());
  });

  const MENU = { COMPLAIN: "我要投诉", QUERY: "查询进度", HELP: "帮助" };
  document.querySelectorAll("[data-click]").forEach((b) => b.addEventListener("click", () => {
    notice(`点击菜单「${MENU[b.dataset.click]}」`);
    sendEvent("CLICK", b.dataset.click);
  }));

  const follow = $("subscribe");
  const showFollow = () => {
    const on = localStorage.getItem(key("subscribed")) === "1";
    follow.textContent = on ? "已关注" : "关注";
    follow.classList.toggle("on", on);
  };
  follow.addEventListener("click", () => {
    const on = localStorage.getItem(key("subscribed")) === "1";
    localStorage.setItem(key("subscribed"), on ? "0" : "1");
    showFollow();
    notice(on ? "你已取消关注公众号" : "你关注了公众号");
    sendEvent(on ? "unsubscribe" : "subscribe", on ? undefined : "", !on);
  });

  $("new-identity").addEventListener("click", () => {
    localStorage.setItem(PREFIX + "openid", randomOpenid());
    location.reload();
  });
  $("clear-history").addEventListener("click", () => {
    history = [];
    save();
    chat.replaceChildren();
  });

  // -- messages sent later through WeChat's API (the local fake records them) ---------------------
  let polling = false;
  async function poll() {
    if (polling || document.hidden) return;
    polling = true;
    try {
      const after = localStorage.getItem(key("cursor")) || "0";
      const response = await fetch(`${cfg.messages_url}?openid=${encodeURIComponent(openid)}&after=${after}`,
                                   { cache: "no-store" });
      const data = await response.json();
      for (const m of data.messages || []) add({ who: "bot", channel: m.channel, text: m.text });
      localStorage.setItem(key("cursor"), String(data.cursor ?? after));
    } catch {
      // the next poll tries again
    } finally {
      polling = false;
    }
  }

  // -- start -----------------------------------------------------------------------------------------
  $("openid").textContent = openid;
  showFollow();
  history.forEach((m) => render(m));
  if (!history.length) notice("这是模拟的微信对话。先点右上角「关注」，或直接描述您遇到的消费问题。");
  setInterval(poll, cfg.poll_ms);
  poll();

  window.fangxinSimulator = { openid: () => openid, sha1Hex, sha1Fallback, signature, messageXml };
})();
