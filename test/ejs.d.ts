// ejs 7 ships no type declarations; the tests only hand it to @fastify/view.
declare module 'ejs'
