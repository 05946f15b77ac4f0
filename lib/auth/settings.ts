// The login settings, declared once: names for the umbrella and the rows of
// docs/auth.md's settings table (lib/shared/declarations.ts).
export const AUTH_SETTINGS = {
  loginUrl: { tornado: '`login_url`', doc: 'Where anonymous GET/HEAD requests to `authenticated` routes go. Required as soon as `app.authenticated` is used: reading it without `loginUrl` throws `FDK_AUTH_LOGIN_URL_MISSING` when the route is declared (Tornado answers 500 per request).' },
  getCurrentUser: { shown: 'none (everyone anonymous)', tornado: '`get_current_user()`', doc: '`(request) => user` or a promise of it; falsy means anonymous.' }
} as const
