// The launch form's choice of process: where a script runs, the chosen template's steps show
// as soon as it is chosen. Without a script, "Choose this process" sends the form, which comes
// back with the chosen template's steps and everything typed kept.
const choices = document.querySelectorAll("input[name=template]");
const choose = document.getElementById("choose-template");
if (choices.length && choose) {
  choose.hidden = true;
  const show = (chosen) => {
    for (const section of document.querySelectorAll("[data-template]")) {
      section.hidden = section.dataset.template !== chosen;
    }
  };
  for (const choice of choices) {
    choice.addEventListener("change", () => show(choice.value));
  }
}
