import { createApp } from "vue";
import { createPinia } from "pinia";
import App from "./App.vue";
import { createAppRouter } from "./router";
import { loadRuntimeConfig } from "./lib/runtime-config";
import { runtimeConfigKey } from "./lib/config-key";
import { initApi } from "./api/parley";
import { useSessionStore } from "./stores/session";
import { startSignedIn, stopSignedIn } from "./lib/signed-in";
import "./styles.css";

const config = await loadRuntimeConfig();
const app = createApp(App);
const pinia = createPinia();
app.use(pinia);

initApi(config.apiUrl);
const session = useSessionStore(pinia);
await session.init();

const router = createAppRouter(() => session.isLoggedIn);
app.use(router);
app.provide(runtimeConfigKey, config);

session.onEnded(() => {
  stopSignedIn();
  void router.replace({ name: "login" });
});
startSignedIn(config);

app.mount("#app");
