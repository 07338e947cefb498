import { createApp } from "vue";
import App from "./App.vue";
import { loadConsoleConfig } from "./api.ts";
import { router } from "./router.ts";
import { restore } from "./session.ts";
import "./style.css";

void (async () => {
  await loadConsoleConfig();
  await restore();
  createApp(App).use(router).mount("#app");
})();
