#include "runtime/engines/docker/log_stream.h"

#include <cstdint>

namespace beemesh::runtime::docker {
namespace {

constexpr std::size_t kHeaderSize = 8;

bool looks_like_header(std::string_view body) {
  if (body.size() < kHeaderSize) return false;
  auto stream = static_cast<unsigned char>(body[0]);
  return stream <= 2 && body[1] == 0 && body[2] == 0 && body[3] == 0;
}

}  // namespace

Result<DemultiplexedLogs> demultiplex_logs(std::string_view body) {
  DemultiplexedLogs out;
  if (body.empty()) return out;
  if (!looks_like_header(body)) {  // TTY: a raw stream
    out.stdout_text = std::string(body);
    out.combined = out.stdout_text;
    return out;
  }
  std::size_t pos = 0;
  while (pos < body.size()) {
    std::string_view rest = body.substr(pos);
    if (!looks_like_header(rest)) {
      return make_error("invalid_response",
                        "docker log stream: bad frame header at byte " + std::to_string(pos));
    }
    auto byte = [&](std::size_t i) {
      return static_cast<uint32_t>(static_cast<unsigned char>(rest[i]));
    };
    uint32_t size = (byte(4) << 24) | (byte(5) << 16) | (byte(6) << 8) | byte(7);
    if (rest.size() - kHeaderSize < size) {
      return make_error("invalid_response",
                        "docker log stream: frame at byte " + std::to_string(pos) + " announces " +
                            std::to_string(size) + " bytes but only " +
                            std::to_string(rest.size() - kHeaderSize) + " follow");
    }
    std::string_view payload = rest.substr(kHeaderSize, size);
    (rest[0] == 2 ? out.stderr_text : out.stdout_text).append(payload);
    out.combined.append(payload);
    pos += kHeaderSize + size;
  }
  return out;
}

}  // namespace beemesh::runtime::docker
