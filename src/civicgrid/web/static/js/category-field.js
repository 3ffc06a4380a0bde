/* The category box of the intake forms: people type a name and pick a suggestion, which the box shows by name;
 * the code behind it goes into the hidden input named by data-code-input (for the duplicate hints, and sent
 * with the form). Whatever the box says, the server resolves it again. */
(function () {
  "use strict";
  document.querySelectorAll("input[list][data-code-input]").forEach(function (box) {
    var list = document.getElementById(box.getAttribute("list"));
    var code = document.getElementById(box.dataset.codeInput);
    if (!list || !code) { return; }
    function sync() {
      var typed = box.value.trim();
      var match = Array.prototype.find.call(list.options, function (option) { return option.value === typed; });
      code.value = match ? match.dataset.code : "";
    }
    box.addEventListener("input", sync);
    box.addEventListener("change", sync);
  });
})();
