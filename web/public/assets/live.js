// @ts-check
/** A WebSocket that comes back by itself: after a drop it reconnects with
 * exponential back-off and jitter, and tells the page whether it is online.
 * Frames sent while offline wait in a queue; the server deduplicates
 * messages by their client id, so sending one twice is harmless. */

export class Live {
  /**
   * @param {string} url
   * @param {{ onFrame: (f: any) => void, onState: (online: boolean) => void, onOpen?: () => any[], onRevoked?: () => void }} handlers
   *   `onOpen` answers frames to send first on every (re)connection.
   */
  constructor(url, handlers) {
    this.url = url;
    this.handlers = handlers;
    /** @type {WebSocket | null} */
    this.socket = null;
    /** @type {any[]} */
    this.queue = [];
    this.attempt = 0;
    this.closed = false;
    /** Put away until `resume()` (the page waits in the back/forward cache). */
    this.paused = false;
    /** @type {number | undefined} */
    this.timer = undefined;
    this.connect();
  }

  connect() {
    const socket = new WebSocket(this.url);
    this.socket = socket;
    socket.addEventListener('open', () => {
      this.attempt = 0;
      this.handlers.onState(true);
      for (const f of this.handlers.onOpen ? this.handlers.onOpen() : []) socket.send(JSON.stringify(f));
      const waiting = this.queue;
      this.queue = [];
      waiting.forEach((f) => this.send(f));
    });
    socket.addEventListener('message', (e) => {
      try {
        this.handlers.onFrame(JSON.parse(e.data));
      } catch (err) {
        console.warn('bad frame', err);
      }
    });
    socket.addEventListener('close', (e) => {
      // A socket closed by `pause()` may report after `resume()` opened the next one.
      if (this.socket !== socket) return;
      this.socket = null;
      this.handlers.onState(false);
      if (this.closed || this.paused) return;
      if (e.code === 4001 || e.code === 1008) {
        // Revoked (blocked, signed out elsewhere) or refused: do not knock again.
        if (this.handlers.onRevoked) this.handlers.onRevoked();
        return;
      }
      const delay = Math.min(30000, 500 * 2 ** this.attempt) * (0.5 + Math.random());
      this.attempt += 1;
      this.timer = window.setTimeout(() => this.connect(), delay);
    });
  }

  /** @param {any} frame */
  send(frame) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(frame));
    else this.queue.push(frame);
  }

  get online() {
    return !!this.socket && this.socket.readyState === WebSocket.OPEN;
  }

  /** Closes the socket until `resume()`: a page put away must not look present. */
  pause() {
    this.paused = true;
    window.clearTimeout(this.timer);
    const socket = this.socket;
    this.socket = null;
    if (socket) socket.close(1000);
    this.handlers.onState(false);
  }

  resume() {
    if (!this.paused || this.closed) return;
    this.paused = false;
    this.attempt = 0;
    this.connect();
  }

  close() {
    this.closed = true;
    window.clearTimeout(this.timer);
    if (this.socket) this.socket.close(1000);
  }
}

/** Where to resume a conversation after a reconnection: the newest sequence
 * number before which nothing is missing. Messages written on two nodes at
 * once may arrive out of order; resuming after the newest one would skip a
 * message still on its way. Frames repeated by the resync are kept once.
 * @param {Map<number, any>} bySeq */
export function resumeAfter(bySeq) {
  if (!bySeq.size) return 0;
  let seq = Math.min(...bySeq.keys());
  while (bySeq.has(seq + 1)) seq += 1;
  return seq;
}

/** @param {string} path */
export function wsUrl(path) {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${path}`;
}
