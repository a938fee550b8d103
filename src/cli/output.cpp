#include "cli/output.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <sstream>

#include "common/safe_text.h"

namespace beemesh::cli {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// A plain scalar that YAML would read as something other than this string.
bool needs_quotes(const std::string& s) {
  if (s.empty()) return true;
  static const std::vector<std::string> kSpecial{"true", "false", "yes",   "no",   "on",
                                                 "off",  "y",     "n",     "null", "~",
                                                 ".inf", "-.inf", "+.inf", ".nan"};
  if (std::find(kSpecial.begin(), kSpecial.end(), lower(s)) != kSpecial.end()) return true;
  char* end = nullptr;
  std::strtod(s.c_str(), &end);
  if (end != s.c_str() && *end == '\0') return true;  // reads as a number
  return std::isspace(static_cast<unsigned char>(s.front())) ||
         std::isspace(static_cast<unsigned char>(s.back()));
}

void emit(YAML::Emitter& out, const api::Json& value) {
  switch (value.type()) {
    case api::Json::value_t::object:
      out << YAML::BeginMap;
      for (const auto& [key, item] : value.items()) {
        out << YAML::Key;
        if (needs_quotes(key) || printable(key, key.size()) != key) out << YAML::DoubleQuoted;
        out << key << YAML::Value;
        emit(out, item);
      }
      out << YAML::EndMap;
      break;
    case api::Json::value_t::array:
      out << YAML::BeginSeq;
      for (const auto& item : value) emit(out, item);
      out << YAML::EndSeq;
      break;
    case api::Json::value_t::string: {
      const auto& s = value.get_ref<const std::string&>();
      if (printable_lines(s) != s || s.find('\t') != std::string::npos) {
        // Control characters, invalid UTF-8 or layout controls: the emitter escapes them
        // in a double-quoted scalar (as it does every non-ASCII character there).
        out << YAML::DoubleQuoted << s;
        break;
      }
      if (needs_quotes(s)) out << YAML::DoubleQuoted;
      if (s.find('\n') != std::string::npos) out << YAML::Literal;
      out << s;
      break;
    }
    case api::Json::value_t::boolean:
      out << value.get<bool>();
      break;
    case api::Json::value_t::number_integer:
      out << value.get<int64_t>();
      break;
    case api::Json::value_t::number_unsigned:
      out << value.get<uint64_t>();
      break;
    case api::Json::value_t::number_float:
      out << value.get<double>();
      break;
    default:
      out << YAML::Null;
      break;
  }
}

std::string or_none(const std::string& s) {
  return s.empty() ? "<none>" : s;
}

std::string format_time(int64_t ms) {
  if (ms <= 0) return "<unknown>";
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

Result<OutputFormat> parse_output_format(std::string_view name) {
  if (name == "table") return OutputFormat::kTable;
  if (name == "json") return OutputFormat::kJson;
  if (name == "yaml") return OutputFormat::kYaml;
  return make_error("bad_request",
                    "unknown output format '" + std::string(name) + "' (table|json|yaml)");
}

std::string render_table(const Row& headers, const std::vector<Row>& raw_rows) {
  // Cells hold remote text: one line each, no terminal controls, bounded.
  std::vector<Row> rows;
  rows.reserve(raw_rows.size());
  for (const auto& raw : raw_rows) {
    Row row;
    row.reserve(raw.size());
    for (const auto& cell : raw) row.push_back(printable(cell, kMaxCellBytes));
    rows.push_back(std::move(row));
  }
  std::vector<size_t> widths(headers.size(), 0);
  auto measure = [&](const Row& row) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  };
  measure(headers);
  for (const auto& row : rows) measure(row);

  std::string out;
  auto print = [&](const Row& row) {
    std::string line;
    for (size_t i = 0; i < widths.size(); ++i) {
      std::string cell = i < row.size() ? row[i] : "";
      line += cell;
      if (i + 1 < widths.size()) line += std::string(widths[i] - cell.size() + 3, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  };
  print(headers);
  for (const auto& row : rows) print(row);
  return out;
}

std::string to_yaml(const api::Json& value) {
  YAML::Emitter out;
  out.SetOutputCharset(YAML::EscapeNonAscii);
  emit(out, value);
  std::string text = out.c_str();
  if (text.empty() || text.back() != '\n') text += "\n";
  return text;
}

std::string render_document(const api::Json& value, OutputFormat format) {
  if (format == OutputFormat::kYaml) return to_yaml(value);
  // ASCII only: control characters and every non-ASCII character are \u escapes (invalid
  // UTF-8 becomes U+FFFD), so nothing a node sent can act on the terminal.
  return value.dump(2, ' ', true, api::Json::error_handler_t::replace) + "\n";
}

std::string format_age(int64_t from_ms, int64_t now_ms) {
  if (from_ms <= 0) return "<unknown>";
  int64_t s = std::max<int64_t>(0, (now_ms - from_ms) / 1000);
  if (s < 120) return std::to_string(s) + "s";
  int64_t m = s / 60;
  if (m < 120) return std::to_string(m) + "m";
  int64_t h = m / 60;
  if (h < 48) return std::to_string(h) + "h";
  return std::to_string(h / 24) + "d";
}

std::string format_ports(const std::vector<runtime::PortMapping>& ports) {
  std::string out;
  for (const auto& p : ports) {
    if (!out.empty()) out += ",";
    if (p.host_port > 0) {
      out += (p.host_ip.empty() ? "0.0.0.0" : p.host_ip) + ":" + std::to_string(p.host_port) + "->";
    }
    out += std::to_string(p.container_port) + "/" + p.protocol;
  }
  return or_none(out);
}

std::string workloads_table(const std::vector<api::WorkloadView>& workloads, int64_t now_ms) {
  std::vector<Row> rows;
  for (const auto& w : workloads) {
    rows.push_back({w.info.id, w.info.manifest_id, or_none(w.node_id),
                    std::string(api::workload_state_name(w.info.state)), or_none(w.health),
                    std::to_string(w.info.pods.size()), format_ports(w.info.ports),
                    format_age(w.info.created_at_ms, now_ms)});
  }
  return render_table({"ID", "MANIFEST", "NODE", "STATE", "HEALTH", "PODS", "PORTS", "AGE"}, rows);
}

// "+0.2s"; "-12.3s (off)" beyond 10 s; "(refused)" beyond the 30 s envelope window.
std::string format_clock(const api::NodeInfo& n) {
  if (!n.clock_skew_ms) return "-";
  int64_t skew = *n.clock_skew_ms;
  int64_t size = skew < 0 ? (skew == INT64_MIN ? INT64_MAX : -skew) : skew;
  std::string out = fmt::format("{:+.1f}s", static_cast<double>(skew) / 1000.0);
  if (size > 30'000) return out + " (refused)";
  if (size > 10'000) return out + " (off)";
  return out;
}

std::string nodes_table(const std::vector<api::NodeInfo>& nodes, int64_t now_ms) {
  std::vector<Row> rows;
  for (const auto& n : nodes) {
    rows.push_back({or_none(n.name) + (n.self ? " (self)" : ""), n.node_id, or_none(n.engine),
                    or_none(n.rpc_endpoint), or_none(n.api_endpoint),
                    n.self ? "now" : format_age(n.last_seen_ms, now_ms), format_clock(n)});
  }
  return render_table({"NAME", "ID", "ENGINE", "RPC", "API", "LAST SEEN", "CLOCK"}, rows);
}

std::string providers_table(const std::vector<provider::ProviderInfo>& providers, int64_t now_ms) {
  std::vector<Row> rows;
  for (const auto& p : providers) {
    rows.push_back({p.metadata.node_id, or_none(p.metadata.rpc_endpoint),
                    or_none(p.metadata.engine), format_age(p.timestamp_ms, now_ms),
                    std::to_string(p.ttl_s) + "s"});
  }
  return render_table({"NODE", "ENDPOINT", "ENGINE", "ANNOUNCED", "TTL"}, rows);
}

std::string placements_table(const std::vector<api::PlacementOutcome>& placements) {
  std::vector<Row> rows;
  for (const auto& p : placements) {
    std::string result = p.ok ? "ok" : p.code + (p.message.empty() ? "" : ": " + p.message);
    rows.push_back({p.node_id, or_none(p.rpc_endpoint), or_none(p.workload_id), result});
  }
  return render_table({"NODE", "ENDPOINT", "WORKLOAD", "RESULT"}, rows);
}

std::string describe_workload(const api::WorkloadView& w, int64_t now_ms) {
  std::ostringstream out;
  auto line = [&](const std::string& key, const std::string& value) {
    std::string label = key + ":";
    out << label << std::string(label.size() < 16 ? 16 - label.size() : 1, ' ')
        << printable(value, kMaxCellBytes) << "\n";
  };
  line("Workload", w.info.id);
  line("Manifest", w.info.manifest_id);
  line("Node", or_none(w.node_id));
  line("Engine", or_none(w.info.engine));
  line("State", std::string(api::workload_state_name(w.info.state)));
  line("Health", or_none(w.health));
  line("Restart Policy", or_none(w.info.restart_policy));
  line("Owner", or_none(w.owner));
  line("Created",
       format_time(w.info.created_at_ms) +
           (w.info.created_at_ms > 0 ? " (" + format_age(w.info.created_at_ms, now_ms) + " ago)"
                                     : ""));
  line("Message", or_none(w.info.message));
  out << "Pods:\n";
  if (w.info.pods.empty()) out << "  <none>\n";
  for (const auto& pod : w.info.pods) out << "  " << printable(pod, kMaxCellBytes) << "\n";
  out << "Ports:\n";
  if (w.info.ports.empty()) out << "  <none>\n";
  for (const auto& p : w.info.ports) {
    out << "  " << printable(format_ports({p}), kMaxCellBytes);
    std::string where;
    if (!p.pod.empty()) where += "pod " + p.pod;
    if (!p.container.empty()) where += (where.empty() ? "" : ", ") + ("container " + p.container);
    if (!where.empty()) out << " (" << printable(where, kMaxCellBytes) << ")";
    out << "\n";
  }
  return out.str();
}

}  // namespace beemesh::cli
