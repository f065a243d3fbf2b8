// A frontend served on its own origin (as by Vite's dev server) calling the local API at
// window.API_URL (config.js, written by the test): cross-origin fetches, which the browser
// lets the page read only when the API's CORS names this origin.
const result = document.getElementById("result");
const signIn = document.getElementById("sign-in");
const codeForm = document.getElementById("code");
let flowId = "";

async function post(path, body) {
  const response = await fetch(`${window.API_URL}${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  return response.json();
}

function blocked(error) {
  result.textContent = `Blocked: ${error.message}`;
}

signIn.addEventListener("submit", (event) => {
  event.preventDefault();
  const form = new FormData(signIn);
  post("/login", { email: form.get("email"), password: form.get("password") })
    .then((answer) => {
      flowId = answer.flow_id;
      codeForm.hidden = false;
      result.textContent = `Code sent to ${answer.phone_hint}`;
    })
    .catch(blocked);
});

codeForm.addEventListener("submit", (event) => {
  event.preventDefault();
  post("/login/verify", { flow_id: flowId, code: new FormData(codeForm).get("code") })
    .then((answer) => {
      result.textContent = answer.token ? "Signed in" : `Refused: ${answer.code}`;
      result.dataset.token = answer.token || "";
    })
    .catch(blocked);
});
