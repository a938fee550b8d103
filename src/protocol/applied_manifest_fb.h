// protocol/applied_manifest_fb.h — private: the AppliedManifest table codec shared by
// records.cpp and messages.cpp (ApplyRequest embeds an AppliedManifest).
#pragma once

#include <string_view>

#include "common/result.h"
#include "protocol/records.h"
#include "protocol/records_generated.h"

namespace beemesh::protocol::detail {

flatbuffers::Offset<fb::AppliedManifest> encode_applied_manifest_into(
    flatbuffers::FlatBufferBuilder& fbb, const AppliedManifest& a);

Result<AppliedManifest> decode_applied_manifest_table(const fb::AppliedManifest* m,
                                                      std::string_view what);

}  // namespace beemesh::protocol::detail
