// cli/output.h — how the CLI prints: kubectl-style aligned tables, JSON and YAML.
//
// Promise:
//  * render_table() left-aligns every column to its widest cell with three spaces between
//    columns (like kubectl), upper-case headers as given, no trailing spaces, one row per
//    line; an empty row list prints the headers only.
//  * to_yaml() prints any JSON value as block YAML that reads back as the same value
//    (strings that would read as numbers, booleans or null are quoted).
//  * The *_table functions turn API views into tables; ages are computed from `now_ms`.
//  * Remote text never reaches the output raw: every table cell and describe value goes
//    through printable(cell, kMaxCellBytes) (common/safe_text.h: control characters and
//    newlines escaped, long text truncated); JSON output is ASCII with \u escapes; YAML
//    double-quotes (and escapes) every string holding a control character.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "api/json.h"
#include "api/node_service.h"
#include "common/result.h"

namespace beemesh::cli {

enum class OutputFormat { kTable, kJson, kYaml };

Result<OutputFormat> parse_output_format(std::string_view name);  // table | json | yaml

inline constexpr size_t kMaxCellBytes = 256;

using Row = std::vector<std::string>;
std::string render_table(const Row& headers, const std::vector<Row>& rows);

std::string to_yaml(const api::Json& value);
// Pretty JSON (2-space indent) or YAML, ending with a newline.
std::string render_document(const api::Json& value, OutputFormat format);

// "45s", "12m", "5h", "3d"; "<unknown>" when `from_ms` is 0; "0s" for times in the future.
std::string format_age(int64_t from_ms, int64_t now_ms);
// "127.0.0.1:8080->80/TCP", joined with ","; "<none>" when empty.
std::string format_ports(const std::vector<runtime::PortMapping>& ports);

std::string workloads_table(const std::vector<api::WorkloadView>& workloads, int64_t now_ms);
// A node's clock against ours: "+0.2s", "-12.3s (off)" (> 10 s), "(refused)" (> 30 s).
std::string format_clock(const api::NodeInfo& node);
std::string nodes_table(const std::vector<api::NodeInfo>& nodes, int64_t now_ms);
std::string providers_table(const std::vector<provider::ProviderInfo>& providers, int64_t now_ms);
std::string placements_table(const std::vector<api::PlacementOutcome>& placements);
// kubectl-describe style "Key:   value" block.
std::string describe_workload(const api::WorkloadView& workload, int64_t now_ms);

}  // namespace beemesh::cli
