// dht/opendht_interposer.h — whether the executable's definition of an OpenDHT symbol is the
// one the library's own calls bind to (dht/opendht_query_fix.h, opendht_search_fix.h,
// opendht_arrival_fix.h).
//
// Promise: binds_outside_libopendht(symbol) is true when the first definition of the mangled
// `symbol` in the process's global lookup order (what libopendht.so's PLT and vtable
// relocations resolve to) lies in a file whose name does not contain "libopendht".
#pragma once

namespace beemesh::dht {

bool binds_outside_libopendht(const char* symbol);

}  // namespace beemesh::dht
