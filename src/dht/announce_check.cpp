#include "dht/announce_check.h"

#include <cctype>

#include "common/bytes.h"

namespace beemesh::dht {

namespace {

struct Row {
  bool expired = false;
  bool acked = false;
  std::string address;
};

// One node row: "<bits> <40 hex> <'*'|' '> [<n><'x'|' '>] [..] ... <address>". False when the
// line is not one.
bool read_row(std::string_view line, Row& row) {
  size_t i = line.find_first_not_of(' ');
  if (i == std::string_view::npos || !std::isdigit(static_cast<unsigned char>(line[i]))) {
    return false;
  }
  size_t hash = line.find(' ', i);
  if (hash == std::string_view::npos || hash + 41 > line.size()) return false;
  ++hash;
  if (!from_hex(line.substr(hash, 40)).ok()) return false;  // the node id
  size_t open = line.find('[', hash + 40);
  size_t close = open == std::string_view::npos ? open : line.find(']', open);
  size_t last_space = line.find_last_of(' ');
  if (close == std::string_view::npos || close < open + 2 || last_space == std::string_view::npos ||
      last_space < close || last_space + 1 >= line.size()) {
    return false;
  }
  row.expired = line[close - 1] == 'x';
  // Only the announce group holds 'a' (the get, listen and connection groups never do); the
  // address, which may (IPv6), comes after the last space.
  row.acked = false;
  bool in_group = false;
  for (size_t k = close + 1; k < last_space; ++k) {
    if (line[k] == '[') in_group = true;
    if (line[k] == ']') in_group = false;
    if (in_group && line[k] == 'a') row.acked = true;
  }
  row.address = std::string(line.substr(last_space + 1));
  return true;
}

void take_search(const std::vector<Row>& rows, size_t limit, std::vector<std::string>& out) {
  size_t farthest_acked = rows.size();
  for (size_t k = rows.size(); k-- > 0;) {
    if (rows[k].acked) {
      farthest_acked = k;
      break;
    }
  }
  if (farthest_acked == rows.size()) return;
  for (size_t k = 0; k < farthest_acked && out.size() < limit; ++k) {
    if (rows[k].expired) out.push_back(rows[k].address);
  }
}

}  // namespace

std::vector<std::string> skipped_nearer_nodes(std::string_view search_log, size_t limit) {
  std::vector<std::string> out;
  std::vector<Row> rows;
  size_t start = 0;
  while (start <= search_log.size() && out.size() < limit) {
    size_t end = search_log.find('\n', start);
    if (end == std::string_view::npos) end = search_log.size();
    std::string_view line = search_log.substr(start, end - start);
    if (line.starts_with("Search ")) {
      take_search(rows, limit, out);
      rows.clear();
    } else if (Row row; read_row(line, row)) {
      rows.push_back(std::move(row));
    }
    start = end + 1;
  }
  take_search(rows, limit, out);
  return out;
}

}  // namespace beemesh::dht
