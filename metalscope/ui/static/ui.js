// MetalScope fleet page: the state filter applies as soon as it changes. Everything works
// without this script (the filter form is a plain GET).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var filter = document.getElementById("state-filter");
  var form = document.getElementById("filters");
  if (filter && form) {
    filter.addEventListener("change", function () { form.submit(); });
  }
});
