(function () {
  "use strict";
  var box = document.getElementById("filters");
  var root = document.getElementById("problems");
  if (!box || !root) { return; }
  box.hidden = false;
  var q = document.getElementById("q");
  var shown = document.getElementById("shown");
  var none = document.getElementById("no-match");
  var groups = Array.prototype.slice.call(root.querySelectorAll("details.group"));
  var boxes = Array.prototype.slice.call(box.querySelectorAll("input[type=checkbox]"));
  var searching = false;
  function apply() {
    var needle = q.value.trim().toLowerCase();
    var on = {};
    boxes.forEach(function (b) { on[b.value] = b.checked; });
    var n = 0;
    var total = 0;
    groups.forEach(function (group) {
      var rows = group.querySelectorAll("tr[data-search]");
      var count = group.querySelector(".count");
      var k = 0;
      Array.prototype.forEach.call(rows, function (row) {
        var hay = row.getAttribute("data-search") || "";
        var ok = on[row.getAttribute("data-action")] !== false &&
          (needle === "" || hay.indexOf(needle) !== -1);
        row.hidden = !ok;
        if (ok) { k += 1; }
      });
      group.hidden = k === 0;
      count.textContent = k === rows.length ? String(rows.length) : k + " of " + rows.length;
      if (needle !== "") {
        group.open = k > 0;
      } else if (searching) {
        group.open = false;
      }
      n += k;
      total += rows.length;
    });
    searching = needle !== "";
    shown.textContent = n + " of " + total + " records shown";
    none.hidden = n > 0;
  }
  q.addEventListener("input", apply);
  boxes.forEach(function (b) { b.addEventListener("change", apply); });
  apply();
})();
