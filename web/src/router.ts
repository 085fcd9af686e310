import { createRouter, createWebHistory, type Router } from "vue-router";

export function createAppRouter(isLoggedIn: () => boolean): Router {
  const router = createRouter({
    history: createWebHistory(),
    routes: [
      { path: "/login", name: "login", component: () => import("./views/LoginView.vue"), meta: { guest: true } },
      {
        path: "/register",
        name: "register",
        component: () => import("./views/RegisterView.vue"),
        meta: { guest: true },
      },
      { path: "/verify", name: "verify", component: () => import("./views/VerifyView.vue"), meta: { open: true } },
      {
        path: "/",
        component: () => import("./views/AppShell.vue"),
        children: [
          { path: "", redirect: { name: "chats" } },
          { path: "chats/:conversationId?", name: "chats", component: () => import("./views/ChatsView.vue") },
          { path: "friends", name: "friends", component: () => import("./views/FriendsView.vue") },
        ],
      },
      { path: "/:pathMatch(.*)*", redirect: "/" },
    ],
  });
  router.beforeEach((to) => {
    if (to.meta.open) return true;
    if (to.meta.guest) return isLoggedIn() ? { name: "chats" } : true;
    return isLoggedIn() ? true : { name: "login", query: to.fullPath === "/" ? {} : { next: to.fullPath } };
  });
  return router;
}
