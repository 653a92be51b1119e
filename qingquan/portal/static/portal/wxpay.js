// Paying inside WeChat (JSAPI): the signed parameters of the order (json_script) go to
// WeixinJSBridge, which opens WeChat's cashier; when it closes paid, the order's page
// follows (it shows "paid" once the provider's notify has come). No inline script.
(function () {
  "use strict";

  function start() {
    const node = document.getElementById("wxpay-bridge");
    const box = document.querySelector("[data-wxpay]");
    if (!node || !box) return;
    const cfg = JSON.parse(node.textContent);
    const out = box.querySelector("[data-wxpay-status]");
    const again = box.querySelector("[data-wxpay-again]");

    function pay() {
      if (typeof window.WeixinJSBridge === "undefined") {
        out.textContent = box.dataset.msgNoBridge;
        return;
      }
      out.textContent = box.dataset.msgOpening;
      window.WeixinJSBridge.invoke("getBrandWCPayRequest", cfg.params, function (res) {
        const answer = res && res.err_msg ? res.err_msg : "";
        if (answer === "get_brand_wcpay_request:ok") {
          window.location.assign(cfg.done);
        } else if (answer === "get_brand_wcpay_request:cancel") {
          out.textContent = box.dataset.msgCancel;
          again.hidden = false;
        } else {
          out.textContent = box.dataset.msgFail;
          again.hidden = false;
        }
      });
    }

    again.addEventListener("click", pay);
    if (typeof window.WeixinJSBridge === "undefined") {
      document.addEventListener("WeixinJSBridgeReady", pay, false);
      // Not in WeChat after all: say so rather than wait for ever.
      window.setTimeout(function () {
        if (typeof window.WeixinJSBridge === "undefined") pay();
      }, 3000);
    } else {
      pay();
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
