// Getting files from the user: a button that opens the file picker (a file, or a folder), and a
// drop zone that also takes dropped folders. Both hand over plain File lists.

export interface PickerOptions {
  accept?: string;
  /** Pick a whole folder (webkitdirectory) instead of files. */
  folder?: boolean;
  /** Several files at once. */
  multiple?: boolean;
  testid: string;
}

/** A button that opens the file picker; its hidden input carries `testid` (tests set its files). */
export function pickerButton(label: string, options: PickerOptions, onFiles: (files: File[]) => void): HTMLElement {
  const input = document.createElement('input');
  input.type = 'file';
  input.hidden = true;
  input.tabIndex = -1;
  input.dataset.testid = options.testid;
  if (options.accept) input.accept = options.accept;
  if (options.folder) input.webkitdirectory = true;
  if (options.multiple) input.multiple = true;
  input.addEventListener('change', () => {
    const files = [...(input.files ?? [])];
    input.value = ''; // the same file picked again is a new pick
    if (files.length > 0) onFiles(files);
  });
  const button = document.createElement('button');
  button.type = 'button';
  button.textContent = label;
  button.addEventListener('click', () => input.click());
  const wrapper = document.createElement('span');
  wrapper.append(button, input);
  return wrapper;
}

/** Makes `zone` accept dropped files and folders (highlighted while something is dragged over it). */
export function acceptDrops(zone: HTMLElement, onFiles: (files: File[]) => void): void {
  zone.addEventListener('dragover', (event) => {
    event.preventDefault();
    zone.classList.add('over');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (event) => {
    event.preventDefault();
    zone.classList.remove('over');
    if (!event.dataTransfer) return;
    void droppedFiles(event.dataTransfer).then((files) => {
      if (files.length > 0) onFiles(files);
    });
  });
}

/** The files of a drop, with those inside dropped folders (named by their path in the folder). */
async function droppedFiles(transfer: DataTransfer): Promise<File[]> {
  const entries = [...transfer.items].map((item) => item.webkitGetAsEntry?.()).filter((e): e is FileSystemEntry => !!e);
  if (entries.length === 0) return [...transfer.files];
  const files: File[] = [];
  for (const entry of entries) files.push(...(await entryFiles(entry)));
  return files;
}

async function entryFiles(entry: FileSystemEntry): Promise<File[]> {
  if (entry.isFile) {
    const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
    // Keep the folder in the name, as a folder picked with webkitdirectory does.
    return [new File([file], entry.fullPath.replace(/^\//, ''), { type: file.type, lastModified: file.lastModified })];
  }
  const reader = (entry as FileSystemDirectoryEntry).createReader();
  const files: File[] = [];
  // readEntries answers in batches until it answers with none.
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) return files;
    for (const child of batch) files.push(...(await entryFiles(child)));
  }
}

/** A file's name with its folder when it came in one (webkitRelativePath), for messages. */
export const displayName = (file: File): string => file.webkitRelativePath || file.name;
