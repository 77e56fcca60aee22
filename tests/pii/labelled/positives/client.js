/**
 * Kumo upload client.
 * Copyright (c) 2021 Yuki Tanabe <yuki.tanabe@kumo-works.jp>
 * Contributors: Felix Vogelsang <felix+npm@vogelsang.dev>, Sofia Herrera <12345678+sofiaherrera@users.noreply.github.com>
 */
'use strict';

const API_HOST = '196.102.57.170';
const MIRRORS = ['108.35.228.143', '[29b0:33ea:df47:40a2:27e9:8edb:bf09:4e19]:8443'];
const SLACK_WEBHOOK = "https://hooks.slack.com/services/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";
const STRIPE_KEY = "rk_live_Vt2e8mvn46rKXX9j3DzS0vKF";
const NPM_TOKEN = "npm_zDnK2GovzqZONZls5ql8eeR7Ow5LbC4CM3td";
const GITLAB_TOKEN = "glpat-mKM-tc0os4FiNjY2gh2a";
const HF_TOKEN = "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";
const apiKey = "xrYSieycrUdlk4VVsqYr5tZvzKuQxVW9";
const OPENAI_KEY = `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`;

function authHeaders() {
  return { Authorization: 'Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiAiMTIwNjk5MTM2MCIsICJuYW1lIjogIk1pcmEgT2thZm9yIiwgImlhdCI6IDE3MTYyMzkwMjJ9.HXcpapy-hDGndjwRdDTWYbEmGua33BHco0MVLzN15NW' };
}

module.exports = { API_HOST, MIRRORS, authHeaders, maintainer: 'yuki.tanabe@kumo-works.jp' };
