// ShownHTML's view: the model's `value` as HTML, its links made reachable
// (reach.js, prepended), and a `shown` message to the kernel each time a view
// reaches a page (inside a box too).
function render({ model, el }) {
  el.classList.add("tc-html");
  const draw = () => {
    el.innerHTML = model.get("value");
    reachLinks(el);
  };
  draw();
  model.on("change:value", draw);
  model.send({ type: "shown" });
  return () => model.off("change:value", draw);
}

export default { render };
