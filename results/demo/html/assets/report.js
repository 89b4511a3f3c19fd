/* robustness-harness HTML report: draws the Vega-Lite charts, sorts and filters the
   leaderboard. Runs from disk (file://): no network, no modules, no server. */
(function () {
  "use strict";

  function reportData() {
    var node = document.getElementById("report-data");
    return node ? JSON.parse(node.textContent) : { charts: {} };
  }

  function drawCharts(data) {
    var nodes = document.querySelectorAll("[data-chart]");
    var pending = [];
    nodes.forEach(function (node) {
      var spec = data.charts[node.getAttribute("data-chart")];
      if (!spec) { return; }
      pending.push(window.vegaEmbed(node, spec, { renderer: "svg", actions: false })
        .then(function () { node.setAttribute("data-rendered", "true"); }));
    });
    Promise.all(pending).then(function () {
      document.body.setAttribute("data-charts-ready", "true");
    });
  }

  function cellValue(row, index) {
    var cell = row.cells[index];
    var raw = cell ? cell.getAttribute("data-value") : null;
    if (raw === null || raw === "") { return null; }
    var number = Number(raw);
    return isNaN(number) ? raw.toLowerCase() : number;
  }

  function sortBy(table, header) {
    var index = Array.prototype.indexOf.call(header.parentNode.children, header);
    var descending = header.getAttribute("aria-sort") !== "descending";
    table.querySelectorAll("th").forEach(function (th) { th.removeAttribute("aria-sort"); });
    header.setAttribute("aria-sort", descending ? "descending" : "ascending");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var va = cellValue(a, index), vb = cellValue(b, index);
      if (va === null && vb === null) { return 0; }
      if (va === null) { return 1; }   /* empty cells last, either way */
      if (vb === null) { return -1; }
      var order = va < vb ? -1 : va > vb ? 1 : 0;
      return descending ? -order : order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }

  function applyFilters(table) {
    var hidden = {};
    document.querySelectorAll("input[data-filter]").forEach(function (box) {
      if (!box.checked) { hidden[box.getAttribute("data-filter") + "=" + box.value] = true; }
    });
    Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
      var off = hidden["family=" + row.getAttribute("data-family")] ||
                hidden["training=" + row.getAttribute("data-training")];
      row.classList.toggle("hidden", !!off);
    });
  }

  function setUpLeaderboard() {
    var table = document.getElementById("leaderboard");
    if (!table) { return; }
    table.querySelectorAll("thead th").forEach(function (th) {
      th.addEventListener("click", function () { sortBy(table, th); });
    });
    document.querySelectorAll("input[data-filter]").forEach(function (box) {
      box.addEventListener("change", function () { applyFilters(table); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    setUpLeaderboard();
    drawCharts(reportData());
  });
})();
