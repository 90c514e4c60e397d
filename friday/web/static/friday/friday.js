// Friday's own small behaviours for every page. Loaded with `defer`; no framework.
(function () {
  "use strict";
  // Stage definitions show on hover and focus. The tip is position:fixed so a scrolling table or board
  // cannot clip it; place it under its stage, kept inside the window.
  function placeTip(event) {
    var stage = event.target.closest && event.target.closest(".stage");
    if (!stage) return;
    var tip = stage.querySelector(".tip");
    if (!tip) return;
    var box = stage.getBoundingClientRect();
    tip.style.left = "0px";
    tip.style.top = "0px";
    var width = tip.offsetWidth || 320;
    var height = tip.offsetHeight || 40;
    var left = Math.max(4, Math.min(box.left, window.innerWidth - width - 8));
    var top = box.bottom + 4;
    if (top + height > window.innerHeight - 4 && box.top - height - 4 > 0) top = box.top - height - 4;
    tip.style.left = left + "px";
    tip.style.top = top + "px";
  }
  document.addEventListener("mouseover", placeTip);
  document.addEventListener("focusin", placeTip);
})();
// Forms that show a field only for some choices: data-show-when="select_name=value1,value2" on the wrapper.
(function () {
  "use strict";
  function refresh(root) {
    (root || document).querySelectorAll("[data-show-when]").forEach(function (el) {
      var rule = el.getAttribute("data-show-when").split("=");
      var form = el.closest("form") || document;
      var select = form.querySelector('[name="' + rule[0] + '"]');
      var wanted = rule[1].split(",");
      el.hidden = !select || wanted.indexOf(select.value) === -1;
    });
  }
  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("select")) refresh();
  });
  document.addEventListener("DOMContentLoaded", function () { refresh(); });
  document.addEventListener("htmx:afterSwap", function () { refresh(); });
})();
