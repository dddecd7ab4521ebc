// Drag and drop onto the upload form: the dropped file becomes the form's file. Without
// JavaScript the file picker works the same.
(function () {
  var zone = document.getElementById("drop");
  var input = document.getElementById("file");
  if (!zone || !input) return;
  zone.hidden = false;
  function stop(ev) { ev.preventDefault(); ev.stopPropagation(); }
  ["dragenter", "dragover"].forEach(function (n) {
    zone.addEventListener(n, function (ev) { stop(ev); zone.classList.add("over"); });
  });
  ["dragleave", "drop"].forEach(function (n) {
    zone.addEventListener(n, function (ev) { stop(ev); zone.classList.remove("over"); });
  });
  zone.addEventListener("drop", function (ev) {
    if (ev.dataTransfer && ev.dataTransfer.files.length) {
      input.files = ev.dataTransfer.files;
      zone.textContent = "Ready to upload: " + input.files[0].name;
    }
  });
})();
