// The emoji shortcodes the bot and common Slack messages use; unknown ones stay as text.
export const EMOJI = {
  rotating_light: "🚨", warning: "⚠️", white_check_mark: "✅", heavy_check_mark: "✔️",
  x: "❌", red_circle: "🔴", large_orange_circle: "🟠", large_yellow_circle: "🟡",
  large_green_circle: "🟢", large_blue_circle: "🔵", white_circle: "⚪", black_circle: "⚫",
  orange_circle: "🟠", yellow_circle: "🟡", green_circle: "🟢", blue_circle: "🔵",
  zzz: "💤", sleeping: "😴", bell: "🔔", no_bell: "🔕", fire: "🔥", eyes: "👀", mag: "🔍",
  mag_right: "🔎", memo: "📝", pencil: "📝", pencil2: "✏️", bar_chart: "📊",
  chart_with_upwards_trend: "📈", chart_with_downwards_trend: "📉", arrow_up: "⬆️",
  arrow_down: "⬇️", arrow_right: "➡️", arrow_left: "⬅️", arrow_forward: "▶️",
  arrows_counterclockwise: "🔄", repeat: "🔁", hourglass: "⌛", hourglass_flowing_sand: "⏳",
  alarm_clock: "⏰", clock: "🕒", clock1: "🕐", stopwatch: "⏱️", calendar: "📆",
  date: "📅", spiral_calendar_pad: "🗓️", lock: "🔒", unlock: "🔓", key: "🔑",
  bust_in_silhouette: "👤", busts_in_silhouette: "👥", raising_hand: "🙋",
  raised_hand: "✋", wave: "👋", point_right: "👉", link: "🔗", book: "📖", books: "📚",
  open_book: "📖", gear: "⚙️", wrench: "🔧", hammer_and_wrench: "🛠️", shield: "🛡️",
  package: "📦", inbox_tray: "📥", outbox_tray: "📤", mailbox: "📫", loudspeaker: "📢",
  mega: "📣", speech_balloon: "💬", thought_balloon: "💭", information_source: "ℹ️",
  question: "❓", exclamation: "❗", heavy_exclamation_mark: "❗", bangbang: "‼️",
  no_entry: "⛔", no_entry_sign: "🚫", stop_sign: "🛑", rocket: "🚀", tada: "🎉",
  sparkles: "✨", star: "⭐", boom: "💥", skull: "💀", ghost: "👻", robot_face: "🤖",
  computer: "💻", desktop_computer: "🖥️", file_folder: "📁", page_facing_up: "📄",
  clipboard: "📋", pushpin: "📌", round_pushpin: "📍", thumbsup: "👍", "+1": "👍",
  thumbsdown: "👎", "-1": "👎", ok_hand: "👌", pray: "🙏", muscle: "💪",
  arrow_heading_up: "⤴️", heavy_plus_sign: "➕", heavy_minus_sign: "➖",
  large_blue_diamond: "🔷", small_blue_diamond: "🔹", small_orange_diamond: "🔸",
  red_square: "🟥", orange_square: "🟧", yellow_square: "🟨", green_square: "🟩",
  blue_square: "🟦", white_large_square: "⬜", black_large_square: "⬛",
  siren: "🚨", satellite: "🛰️", zap: "⚡", dart: "🎯", trophy: "🏆", hammer: "🔨",
  spy: "🕵️", sleuth_or_spy: "🕵️", detective: "🕵️", scroll: "📜", receipt: "🧾",
  calendar_spiral: "🗓️", new: "🆕", up: "🆙", cool: "🆒", free: "🆓", sos: "🆘",
  heavy_multiplication_x: "✖️", grey_question: "❔", grey_exclamation: "❕",
  chart: "💹", ledger: "📒", notebook: "📓", bookmark: "🔖", label: "🏷️", globe_with_meridians: "🌐",
  earth_americas: "🌎", world_map: "🗺️", thinking_face: "🤔", smile: "😄", slightly_smiling_face: "🙂",
  white_circle_check: "✅", ballot_box_with_check: "☑️", radio_button: "🔘",
};

const SHORTCODE = /:([a-z0-9_+-]+):/g;

// Replace known shortcodes in already-escaped text (emoji characters need no escaping).
export function emojify(text) {
  return text.replace(SHORTCODE, (whole, name) => EMOJI[name] ?? whole);
}
