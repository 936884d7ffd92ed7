(function () {
  "use strict";
  var table = document.getElementById("inventory");
  if (!table) { return; }
  var tbody = table.tBodies[0];
  var rows = Array.prototype.slice.call(tbody.rows);
  var q = document.getElementById("f-text");
  var sev = document.getElementById("f-severity");
  var src = document.getElementById("f-source");
  var prov = document.getElementById("f-provider");
  var item = document.getElementById("f-item");
  var openOnly = document.getElementById("f-open");
  var count = document.getElementById("f-count");

  function applyFilters() {
    var text = (q.value || "").trim().toLowerCase();
    var minSev = sev.value === "" ? -1 : parseInt(sev.value, 10);
    var shown = 0;
    rows.forEach(function (row) {
      var d = row.dataset;
      var ok = (minSev < 0 || parseInt(d.sev, 10) >= minSev) &&
        (src.value === "" || d.source === src.value) &&
        (prov.value === "" || d.provider === prov.value) &&
        (item.value === "" || d.item === item.value) &&
        (!openOnly.checked || d.open === "1") &&
        (text === "" || row.textContent.toLowerCase().indexOf(text) !== -1);
      row.hidden = !ok;
      if (ok) { shown += 1; }
    });
    count.textContent = shown + " of " + rows.length + " shown";
  }

  function sortBy(th, col, type) {
    var current = th.getAttribute("aria-sort");
    var dir = current === "descending" ? 1 : (current === "ascending" ? -1 : (type === "text" ? 1 : -1));
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (c) { c.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
    var keyed = rows.map(function (row, i) {
      var cell = row.cells[col];
      var raw = cell.getAttribute("data-sort");
      if (raw === null) { raw = cell.textContent.trim(); }
      var key;
      if (type === "num") {
        key = raw === "" ? null : parseFloat(raw);
      } else {
        key = raw.toLowerCase();
      }
      return { row: row, key: key, i: i };
    });
    keyed.sort(function (a, b) {
      if (a.key === b.key) { return a.i - b.i; }
      if (a.key === null || a.key === "") { return 1; }
      if (b.key === null || b.key === "") { return -1; }
      return (a.key < b.key ? -1 : 1) * dir;
    });
    rows = keyed.map(function (k) { return k.row; });
    var frag = document.createDocumentFragment();
    rows.forEach(function (r) { frag.appendChild(r); });
    tbody.appendChild(frag);
  }

  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
    var button = th.querySelector("button");
    if (!button) { return; }
    button.addEventListener("click", function () { sortBy(th, col, th.getAttribute("data-type") || "text"); });
  });
  [q, sev, src, prov, item].forEach(function (el) { el.addEventListener("input", applyFilters); });
  [sev, src, prov, item, openOnly].forEach(function (el) { el.addEventListener("change", applyFilters); });
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("details").forEach(function (d) { d.open = true; });
  });
  applyFilters();
}());
