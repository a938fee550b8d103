// runtime/engines/docker/log_stream.h — the Docker log stream format.
//
// Promise: demultiplex_logs() splits the body of GET /containers/{id}/logs of a container
// created without a TTY: frames of an 8-byte header {stream, 0, 0, 0, size (big-endian
// u32)} followed by `size` bytes. Stream 1 is stdout, 2 is stderr (0, stdin, is kept with
// stdout). A body that does not start with such a header is a TTY stream and is returned
// as stdout unchanged. A frame cut short is Error{"invalid_response"}.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace beemesh::runtime::docker {

struct DemultiplexedLogs {
  std::string stdout_text;
  std::string stderr_text;
  std::string combined;  // both streams in the order the engine wrote them
};

Result<DemultiplexedLogs> demultiplex_logs(std::string_view body);

}  // namespace beemesh::runtime::docker
