// Prints the open descriptors of this process, one per line (except the one used to list them).
#include <dirent.h>

#include <cstdio>
#include <cstdlib>

int main() {
  DIR* dir = opendir("/proc/self/fd");
  if (!dir) return 1;
  const int own = dirfd(dir);
  while (const dirent* e = readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    if (std::atoi(e->d_name) != own) std::printf("%s\n", e->d_name);
  }
  closedir(dir);
  return 0;
}
