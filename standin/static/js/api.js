// The stand-in's UI API (documented in bot/standin/uiapi.py).

async function json(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!body) throw new Error(`HTTP ${response.status}`);
  return body;
}

export async function getState(user) {
  return json(await fetch(`/ui/api/state?user=${encodeURIComponent(user)}`, { cache: "no-store" }));
}

export async function waitEvents(since, timeout = 25) {
  const url = `/ui/api/events?since=${encodeURIComponent(since)}&timeout=${timeout}`;
  return json(await fetch(url, { cache: "no-store" }));
}

// POST a route; answers {ok, reply: {status, body, error}} or {ok: false, error}.
export async function post(route, body) {
  const response = await fetch(`/ui/api/${route}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  return json(response);
}
