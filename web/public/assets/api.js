// @ts-check
/** The REST API, with the session cookie and the CSRF token every change needs. */

const CSRF_KEY = 'ostrog.csrf';

export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} code stable error code from the server
   * @param {string} message
   * @param {any} body
   */
  constructor(status, code, message, body) {
    super(message);
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

/** @param {string | null} token */
export function setCsrf(token) {
  if (token) localStorage.setItem(CSRF_KEY, token);
  else localStorage.removeItem(CSRF_KEY);
}

/**
 * @param {string} method
 * @param {string} path
 * @param {any} [body] JSON, or FormData for uploads
 * @param {{ background?: boolean }} [options] background: a check the page makes by
 *   itself, which must not count as the person's activity (the session idles out)
 * @returns {Promise<any>}
 */
export async function api(method, path, body, options = {}) {
  /** @type {Record<string, string>} */
  const headers = { Accept: 'application/json' };
  if (options.background) headers['X-Ostrog-Activity'] = 'background';
  const csrf = localStorage.getItem(CSRF_KEY);
  if (csrf && method !== 'GET') headers['X-CSRF-Token'] = csrf;
  let payload;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, { method, headers, body: payload, credentials: 'same-origin' });
  } catch {
    throw new ApiError(0, 'offline', 'network', null);
  }
  const text = await response.text();
  const data = text ? safeJson(text) : null;
  if (!response.ok) {
    const error = data && data.error ? data.error : {};
    throw new ApiError(response.status, error.code || `http_${response.status}`, error.message || '', data);
  }
  return data;
}

/** @param {string} text */
function safeJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
