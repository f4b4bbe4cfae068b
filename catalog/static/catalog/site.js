// Progressive enhancement only: every section and link works without this file.
(function () {
  "use strict";

  // Package page sections become ARIA tabs (arrow keys, Home/End move between them).
  function setUpTabs(root) {
    var list = root.querySelector(".tabs__list");
    var tabs = Array.prototype.slice.call(root.querySelectorAll(".tabs__tab"));
    if (!list || !tabs.length) return;
    list.setAttribute("role", "tablist");
    tabs.forEach(function (tab) {
      var panel = document.getElementById(tab.dataset.tab);
      tab.setAttribute("role", "tab");
      tab.id = "tab-" + tab.dataset.tab;
      tab.setAttribute("aria-controls", panel.id);
      tab.parentElement.setAttribute("role", "presentation");
      panel.setAttribute("role", "tabpanel");
      panel.setAttribute("aria-labelledby", tab.id);
      panel.setAttribute("tabindex", "0");
    });
    function select(tab, focus) {
      tabs.forEach(function (other) {
        var on = other === tab;
        other.setAttribute("aria-selected", on ? "true" : "false");
        other.setAttribute("tabindex", on ? "0" : "-1");
        document.getElementById(other.dataset.tab).hidden = !on;
      });
      if (focus) tab.focus();
    }
    tabs.forEach(function (tab, index) {
      tab.addEventListener("click", function (event) {
        event.preventDefault();
        select(tab, false);
        history.replaceState(null, "", "#" + tab.dataset.tab);
      });
      tab.addEventListener("keydown", function (event) {
        var next = null;
        if (event.key === "ArrowRight") next = tabs[(index + 1) % tabs.length];
        else if (event.key === "ArrowLeft") next = tabs[(index - 1 + tabs.length) % tabs.length];
        else if (event.key === "Home") next = tabs[0];
        else if (event.key === "End") next = tabs[tabs.length - 1];
        if (next) { event.preventDefault(); select(next, true); }
      });
    });
    var initial = tabs.filter(function (t) { return "#" + t.dataset.tab === location.hash; })[0];
    select(initial || tabs[0], false);
  }

  // The copy button next to the pip install line.
  function setUpCopy(button) {
    button.addEventListener("click", function () {
      var target = document.getElementById(button.dataset.copyTarget);
      var status = button.parentElement.querySelector(".install__status");
      var text = target.textContent.trim();
      function done(message) { if (status) status.textContent = message; }
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(text).then(function () { done("Copied"); }, function () { done("Copy failed"); });
      } else {
        done("Copy failed");
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-tabs]"), setUpTabs);
    Array.prototype.forEach.call(document.querySelectorAll("[data-copy-target]"), setUpCopy);
  });
})();
