// Ostrog chat widget loader. A company adds to its pages:
//   <script src="https://chat.example.com/widget.js" data-widget="WIDGET-ID" async></script>
// It only opens Ostrog's own frame: the visitor's token and the conversation
// live inside the frame, out of reach of the company's page and its scripts.
(function () {
  'use strict';
  var script = document.currentScript;
  if (!script) return;
  var id = script.getAttribute('data-widget') || '';
  if (!/^[0-9a-f-]{36}$/i.test(id)) return;
  var base = new URL(script.getAttribute('src') || '', location.href).origin;
  var frame = document.createElement('iframe');
  // The page the visitor is on (no query: it may carry their data), in the
  // fragment so that no request or log holds it; the frame tells Ostrog.
  frame.src = base + '/widget/' + id + '#page=' + encodeURIComponent(location.origin + location.pathname);
  frame.title = script.getAttribute('data-title') || 'Chat';
  frame.setAttribute('allow', 'clipboard-write');
  var closed = 'position:fixed;right:16px;bottom:16px;width:76px;height:76px;border:0;z-index:2147483000;background:transparent;color-scheme:normal;';
  // Hidden until the frame says it is ready: a site that is not among the
  // widget's allowed origins (the browser refuses the frame) shows nothing,
  // not a grey box. The reason is in Ostrog's log.
  var hidden = 'visibility:hidden;';
  frame.style.cssText = closed + hidden;

  /** @param {boolean} open */
  function resize(open) {
    if (!open) {
      frame.style.cssText = closed + hidden;
      return;
    }
    var phone = window.innerWidth < 520;
    frame.style.cssText = phone
      ? 'position:fixed;inset:0;width:100%;height:100%;border:0;z-index:2147483000;background:transparent;'
      : 'position:fixed;right:16px;bottom:16px;width:380px;height:min(600px,calc(100vh - 32px));border:0;z-index:2147483000;background:transparent;';
  }

  window.addEventListener('message', function (e) {
    if (e.origin !== base || e.source !== frame.contentWindow) return;
    if (e.data && e.data.type === 'ostrog:ready') {
      hidden = '';
      frame.style.visibility = '';
    }
    if (e.data && e.data.type === 'ostrog:resize') resize(!!e.data.open);
  });
  function mount() {
    document.body.appendChild(frame);
  }
  if (document.body) mount();
  else document.addEventListener('DOMContentLoaded', mount);
})();
