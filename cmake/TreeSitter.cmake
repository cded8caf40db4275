# TreeSitter.cmake: the tree-sitter C runtime and its Python grammar, built from pinned
# source distributions on PyPI. Nothing of tree-sitter lives in this repository: at configure
# time the sdists are taken from NNPORT_DEPS_DIR (offline builds) or downloaded with
# `python -m pip download` (so the user's pip configuration and mirrors apply), checked
# against their SHA256, and extracted into the build tree.
#
# Defines two static, position independent C libraries:
#   tree_sitter_runtime          the runtime (lib.c); public include dir has <tree_sitter/api.h>
#   tree_sitter_python_grammar   the Python grammar; `const TSLanguage *tree_sitter_python(void)`,
#                                declared in <tree_sitter/tree-sitter-python.h> (generated)
#
# Pins:
#   tree-sitter 0.25.2         runtime (tree_sitter/core/lib)
#   tree-sitter-python 0.23.6  grammar (src/parser.c, src/scanner.c), language ABI 14
#   tree-sitter 0.24.0         only its ABI-14 grammar headers (parser.h, array.h, alloc.h,
#                              ts_assert.h): the tree-sitter-python sdist does not ship
#                              src/tree_sitter/*.h, and the 0.25 runtime's parser.h is the
#                              ABI-15 form, which the ABI-14 parser.c does not compile against.
#                              The 0.25 runtime loads ABI-14 languages (it supports 13..15).

include_guard(GLOBAL)

set(NNPORT_DEPS_DIR "$ENV{NNPORT_DEPS_DIR}" CACHE PATH
    "Directory holding the pinned tree-sitter sdists (for offline builds); empty = download with pip")

set(_nnport_ts_root "${CMAKE_BINARY_DIR}/_deps/tree-sitter")

# nnport_fetch_sdist(<pip name> <version> <archive file name> <sha256> <out var>)
# Sets <out var> to the directory the archive extracts to (its single top-level directory).
function(nnport_fetch_sdist package version archive sha256 out_var)
  string(REGEX REPLACE "\\.tar\\.gz$" "" top "${archive}")
  set(dest "${_nnport_ts_root}/${top}")
  set(stamp "${dest}/.nnport-sha256")
  if(EXISTS "${stamp}")
    file(READ "${stamp}" stamped)
    if(stamped STREQUAL sha256)
      set(${out_var} "${dest}" PARENT_SCOPE)
      return()
    endif()
  endif()

  set(tarball "")
  if(NNPORT_DEPS_DIR AND EXISTS "${NNPORT_DEPS_DIR}/${archive}")
    set(tarball "${NNPORT_DEPS_DIR}/${archive}")
  else()
    set(download_dir "${_nnport_ts_root}/downloads")
    set(tarball "${download_dir}/${archive}")
    if(EXISTS "${tarball}")
      file(SHA256 "${tarball}" actual)
      if(NOT actual STREQUAL sha256)
        file(REMOVE "${tarball}")
      endif()
    endif()
    if(NOT EXISTS "${tarball}")
      if(NOT Python3_EXECUTABLE)
        if(Python_EXECUTABLE)
          set(Python3_EXECUTABLE "${Python_EXECUTABLE}")
        else()
          find_package(Python3 REQUIRED COMPONENTS Interpreter)
        endif()
      endif()
      message(STATUS "nnport: downloading ${package}==${version} (sdist) with pip")
      execute_process(
        COMMAND "${Python3_EXECUTABLE}" -m pip download
                --no-deps --no-binary :all: --no-build-isolation --disable-pip-version-check
                "${package}==${version}" -d "${download_dir}"
        RESULT_VARIABLE rc
        OUTPUT_VARIABLE out
        ERROR_VARIABLE err)
      if(NOT rc EQUAL 0 OR NOT EXISTS "${tarball}")
        message(FATAL_ERROR
          "nnport: could not download ${package}==${version} with\n"
          "  ${Python3_EXECUTABLE} -m pip download --no-deps --no-binary :all: "
          "--no-build-isolation ${package}==${version}\n"
          "pip needs setuptools and wheel importable by that interpreter to read an sdist.\n"
          "For an offline build, put ${archive} (sha256 ${sha256}) into a directory and "
          "configure with -DNNPORT_DEPS_DIR=<dir> (or set the environment variable).\n"
          "pip said:\n${out}\n${err}")
      endif()
    endif()
  endif()

  file(SHA256 "${tarball}" actual)
  if(NOT actual STREQUAL sha256)
    message(FATAL_ERROR "nnport: ${tarball} has SHA256 ${actual}, expected ${sha256}")
  endif()

  # Extract next to the destination, then move it into place: an interrupted extraction
  # never looks like a finished one.
  set(tmp "${_nnport_ts_root}/.extract-${top}")
  file(REMOVE_RECURSE "${tmp}" "${dest}")
  file(MAKE_DIRECTORY "${tmp}")
  file(ARCHIVE_EXTRACT INPUT "${tarball}" DESTINATION "${tmp}")
  if(NOT IS_DIRECTORY "${tmp}/${top}")
    message(FATAL_ERROR "nnport: ${archive} does not contain the directory ${top}/")
  endif()
  file(RENAME "${tmp}/${top}" "${dest}")
  file(REMOVE_RECURSE "${tmp}")
  file(WRITE "${stamp}" "${sha256}")
  set(${out_var} "${dest}" PARENT_SCOPE)
endfunction()

nnport_fetch_sdist(tree-sitter 0.25.2 tree-sitter-0.25.2.tar.gz
  fe43c158555da46723b28b52e058ad444195afd1db3ca7720c59a254544e9c20 _nnport_ts_runtime_dir)
nnport_fetch_sdist(tree-sitter-python 0.23.6 tree_sitter_python-0.23.6.tar.gz
  354bfa0a2f9217431764a631516f85173e9711af2c13dbd796a8815acfe505d9 _nnport_ts_python_dir)
nnport_fetch_sdist(tree-sitter 0.24.0 tree-sitter-0.24.0.tar.gz
  abd95af65ca2f4f7eca356343391ed669e764f37748b5352946f00f7fc78e734 _nnport_ts_abi14_dir)

# Silence warnings in third-party C code.
set(_nnport_ts_quiet $<$<C_COMPILER_ID:MSVC>:/w> $<$<NOT:$<C_COMPILER_ID:MSVC>>:-w>)

# --- runtime ------------------------------------------------------------------------------
set(_nnport_ts_lib "${_nnport_ts_runtime_dir}/tree_sitter/core/lib")
add_library(tree_sitter_runtime STATIC "${_nnport_ts_lib}/src/lib.c")
target_include_directories(tree_sitter_runtime SYSTEM PUBLIC "${_nnport_ts_lib}/include")
target_include_directories(tree_sitter_runtime PRIVATE "${_nnport_ts_lib}/src")
# As tree-sitter's own build: le16toh & co. need the POSIX/BSD feature macros under -std=c11.
target_compile_definitions(tree_sitter_runtime PRIVATE
  _POSIX_C_SOURCE=200112L _DEFAULT_SOURCE _BSD_SOURCE _DARWIN_C_SOURCE)
target_compile_options(tree_sitter_runtime PRIVATE ${_nnport_ts_quiet})
set_target_properties(tree_sitter_runtime PROPERTIES
  C_STANDARD 11 C_STANDARD_REQUIRED ON C_EXTENSIONS OFF
  POSITION_INDEPENDENT_CODE ON C_VISIBILITY_PRESET hidden)

# --- Python grammar -----------------------------------------------------------------------
# The grammar includes "tree_sitter/parser.h" (and scanner.c "tree_sitter/array.h"): stage the
# ABI-14 headers under that name in the build tree.
set(_nnport_ts_grammar_inc "${_nnport_ts_root}/grammar-include")
foreach(header parser.h array.h alloc.h ts_assert.h)
  configure_file("${_nnport_ts_abi14_dir}/tree_sitter/core/lib/src/${header}"
                 "${_nnport_ts_grammar_inc}/tree_sitter/${header}" COPYONLY)
endforeach()

# A declaration of the grammar's entry point, for C++ callers.
set(_nnport_ts_public_inc "${_nnport_ts_root}/include")
file(CONFIGURE OUTPUT "${_nnport_ts_public_inc}/tree_sitter/tree-sitter-python.h" CONTENT
"// Generated by cmake/TreeSitter.cmake: the entry point of tree-sitter-python 0.23.6.
#pragma once
#include <tree_sitter/api.h>
#ifdef __cplusplus
extern \"C\" {
#endif
const TSLanguage *tree_sitter_python(void);
#ifdef __cplusplus
}
#endif
")

add_library(tree_sitter_python_grammar STATIC
  "${_nnport_ts_python_dir}/src/parser.c"
  "${_nnport_ts_python_dir}/src/scanner.c")
target_include_directories(tree_sitter_python_grammar PRIVATE
  "${_nnport_ts_grammar_inc}" "${_nnport_ts_python_dir}/src")
target_include_directories(tree_sitter_python_grammar SYSTEM PUBLIC "${_nnport_ts_public_inc}")
target_compile_definitions(tree_sitter_python_grammar PRIVATE TREE_SITTER_HIDE_SYMBOLS)
target_compile_options(tree_sitter_python_grammar PRIVATE ${_nnport_ts_quiet})
target_link_libraries(tree_sitter_python_grammar PUBLIC tree_sitter_runtime)
set_target_properties(tree_sitter_python_grammar PROPERTIES
  C_STANDARD 11 C_STANDARD_REQUIRED ON C_EXTENSIONS OFF
  POSITION_INDEPENDENT_CODE ON C_VISIBILITY_PRESET hidden)
